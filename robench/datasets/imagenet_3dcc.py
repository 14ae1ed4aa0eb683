"""ImageNet-3DCC (Kar et al., "3D Common Corruptions and Data Augmentation", CVPR 2022):
``<root>/<corruption>/<severity 1-5>/<wnid>/*``, 12 corruptions x 5 severities of ImageNet val.

Each corruption is downloaded as its own ``<corruption>.tar.gz`` (EPFL, datasets.epfl.ch/3dcc/imagenet_3dcc/)
that extracts to ``<corruption>/<severity>/<wnid>/``; robench reads the extracted folders or the .tar.gz
files as downloaded, any subset of them, side by side in the root. A gzip stream has no random access, so
each .tar.gz is inflated once into robench's cache as a plain tar (``archive_index.inflated_tar``) and
read in place from there like the other released tars. The images are used as released at 224x224, like
ImageNet-C's (an image of another size stops the run naming the file).

Its metric here is the error per cell and the mean top-1 error over the 60 cells, per corruption and
per group. The groups are those of the authors' Shift Happens task (shift-happens-benchmark/icml-2022,
``shifthappens/tasks/imagenet_3dcc``): depth of field, camera motion, lighting, video, weather, noise. No
AlexNet-normalised CE: the authors publish no AlexNet errors on 3DCC (RobustBench's normalisation uses
its own AlexNet run on a 5,000-image subset, another protocol), so none is computed.
"""
from functools import lru_cache

from robench.datasets.corruption_benchmark import CorruptionSuite
from robench.datasets.declare import Column
from robench.metrics.corruption import CorruptionSet

GROUPS = {"near_focus": "depth_of_field", "far_focus": "depth_of_field", "xy_motion_blur": "camera_motion",
          "z_motion_blur": "camera_motion", "flash": "lighting", "h265_crf": "video", "h265_abr": "video",
          "bit_error": "video", "fog_3d": "weather", "iso_noise": "noise", "color_quant": "noise",
          "low_light": "noise"}


@lru_cache(maxsize=None)
def corruption_set():
    return CorruptionSet("ImageNet-3DCC", "none", {}, dict(GROUPS), float("nan"))


class ImageNet3DCCSuite(CorruptionSuite):
    name = "imagenet-3dcc"
    title = "ImageNet-3DCC"
    description = ("ImageNet-3DCC: 12 corruptions x 5 severities made with scene depth, 224px as released, no "
                   "resize; top-1 error per cell, mean error over the 60 (no AlexNet normalisation published)")
    layout = "<corruption>/<severity 1-5>/<wnid>/* (or the <corruption>.tar.gz files as downloaded; 224x224)"
    archives = tuple(f"{c}.tar.gz" for c in GROUPS)  # as downloaded, read in place (inflated once, cached)
    folder_names = ("imagenet-3dcc", "ImageNet-3DCC", "imagenet_3dcc", "3dcc")
    n_official = 50_000
    normalised = False
    companion = "imagenet"
    image_glob = "*"
    columns = (
        Column("imagenet_3dcc_mean_error", "ImageNet-3DCC mean error", False,
               "mean top-1 error (%) over ImageNet-3DCC's 12 corruptions x 5 severities (Kar et al., CVPR 2022), "
               "images as released (224 px, no resize or crop); not normalised.", source="aggregate",
               key="mean_error", error_like=True),
    )

    @property
    def corruption_set(self):
        return corruption_set()

    def write_generated(self, out, **options):
        from robench.datasets.corruption_standin import write_standin

        return write_standin(self, out, **options)
