"""ImageNet-C-bar (Mintun, Kirillov & Xie, "On Interaction Between Augmentations and Corruptions in
Natural Corruption Robustness", NeurIPS 2021): 10 corruptions x 5 severities of ImageNet val.

Made by facebookresearch/augmentation-corruption ``imagenet_c_bar/make_imagenet_c_bar.py``: Resize(256) +
CenterCrop(224), the corruption, then PIL JPEG ``quality=85, optimize=True``, written to
``ImageNet-C-Bar/<corruption>/<severity parameter, '{:.2f}'>/<wnid>/<file>``: the severity folders are
named by the corruption's parameter value, not 1..5 (e.g. ``caustic_refraction/2.35``). The parameters
per severity are those of its ``imagenet_c_bar.csv`` (``SEVERITIES`` below); robench maps each folder to
its severity 1..5 through them.

The published metric is the mean top-1 error over the 50 cells (no AlexNet normalisation), with the
error per corruption; robench reports exactly that. robench reads the folders that script writes, and
``robench data c-bar`` (``c_bar_writer``) writes them from your val the way the script does.
"""
from functools import lru_cache

from robench.datasets.corruption_benchmark import CorruptionSuite
from robench.datasets.declare import Column
from robench.metrics.corruption import CorruptionSet

# imagenet_c_bar.csv of facebookresearch/augmentation-corruption: corruption -> parameter at severities 1..5
SEVERITIES = {
    "blue_noise_sample": (0.8, 1.6, 2.4, 4.0, 5.6),
    "brownish_noise": (1.0, 2.0, 3.0, 4.0, 5.0),
    "caustic_refraction": (2.35, 3.2, 4.9, 6.6, 9.15),
    "checkerboard_cutout": (2.0, 3.0, 4.0, 5.0, 6.0),
    "cocentric_sine_waves": (3.0, 5.0, 8.0, 9.0, 10.0),
    "inverse_sparkles": (1.0, 2.0, 4.0, 9.0, 10.0),
    "perlin_noise": (4.6, 5.2, 5.8, 7.6, 8.8),
    "plasma_noise": (4.75, 7.0, 8.5, 9.25, 10.0),
    "single_frequency_greyscale": (1.0, 1.5, 2.0, 4.5, 5.0),
    "sparkles": (1.0, 2.0, 3.0, 5.0, 6.0),
}


@lru_cache(maxsize=None)
def corruption_set():
    return CorruptionSet("ImageNet-C-bar", "none", {}, {c: "c_bar" for c in SEVERITIES}, float("nan"))


class ImageNetCBarSuite(CorruptionSuite):
    name = "imagenet-c-bar"
    title = "ImageNet-C-bar"
    description = ("ImageNet-C-bar: 10 corruptions x 5 severities (severity folders named by their parameter), "
                   "224px JPEG as written by make_imagenet_c_bar.py, no resize; mean top-1 error over the 50 cells")
    layout = "<corruption>/<parameter, e.g. 2.35>/<wnid>/*.JPEG (ImageNet-C-Bar/ as its script writes it; 224x224)"
    folder_names = ("imagenet-c-bar", "ImageNet-C-Bar", "ImageNet-C-bar", "imagenet_c_bar")
    n_official = 50_000
    normalised = False
    companion = "imagenet"
    columns = (
        Column("imagenet_c_bar_mean_error", "ImageNet-C-bar mean error", False,
               "mean top-1 error (%) over ImageNet-C-bar's 10 corruptions x 5 severities (Mintun et al., NeurIPS "
               "2021), the published metric; images as written by make_imagenet_c_bar.py (224 px JPEG q85).",
               source="aggregate", key="mean_error", error_like=True),
    )

    @property
    def corruption_set(self):
        return corruption_set()

    def cell_folder(self, corruption, severity):
        return f"{corruption}/{SEVERITIES[corruption][int(severity) - 1]:.2f}"

    def cell_info(self, corruption, severity, size):
        info = super().cell_info(corruption, severity, size)
        info["parameter"] = SEVERITIES[corruption][int(severity) - 1]
        return info

    def write_generated(self, out, **options):
        from robench.datasets.corruption_standin import write_standin

        return write_standin(self, out, **options)
