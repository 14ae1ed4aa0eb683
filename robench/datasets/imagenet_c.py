"""ImageNet-C (Hendrycks & Dietterich, 2019): ``<root>/<corruption>/<severity 1-5>/<wnid>/*.JPEG``.

The corruption-benchmark suite (``corruption_benchmark.CorruptionSuite``) with ImageNet-C's corruption
set, normalised by AlexNet's published errors: the 15 benchmark corruptions x 5 severities are the
benchmark (mCE, mean error); the 4 extra corruptions are evaluated when their folders are present and
reported apart. The released images are
224x224 crops already, so they are used without resize or crop. Relative mCE needs the same model's
clean error: it is joined at report time with its ``imagenet`` record. A root made by robench
(``robench data synth``) holds ``robench-generated.json``: its records say ``data_origin: generated``
and never share a column with the released data.
"""
from robench.datasets.corruption_benchmark import CorruptionSuite
from robench.datasets.declare import Column
from robench.metrics import imagenet_c as imagenet_c_metrics


class ImageNetCSuite(CorruptionSuite):
    name = "imagenet-c"
    title = "ImageNet-C"
    description = ("ImageNet-C: 15 corruptions x 5 severities (+4 extra, apart), 224px as released, no resize; "
                   "mCE, relative mCE (AlexNet-normalised), mean error")
    layout = "<corruption>/<severity 1-5>/<wnid>/*.JPEG (50,000 per cell, 224x224)"
    folder_names = ("imagenet-c", "ImageNet-C")
    n_official = 50_000
    # Zenodo record 2235448, one tar per group, inside <corruption>/<severity>/<wnid>/*.JPEG: read in place
    archives = ("blur.tar", "digital.tar", "noise.tar", "weather.tar", "extra.tar")
    columns = (
        Column("imagenet_c_mean_error", "ImageNet-C mean error", False,
               "unnormalised mean top-1 error (%) over the 15 benchmark corruptions x 5 severities of ImageNet-C "
               "(released 224 px JPEGs, no resize or crop). This is the number the paper reports as "
               "'ImageNet-C'; it is not the AlexNet-normalised mCE.", source="aggregate", key="mean_error",
               core=True, plot_label="ImageNet-C (100 − mean error)", plot_marker="D", error_like=True),
        Column("imagenet_c_mce", "mCE", False,
               "ImageNet-C mean Corruption Error (%): for each of the 15 benchmark corruptions, the model's top-1 "
               "error summed over the 5 severities divided by AlexNet's, then averaged over the corruptions "
               "(Hendrycks & Dietterich, 2019).", source="aggregate", key="mce", core=True),
        Column("imagenet_c_relative_mce", "relative mCE", False,
               "ImageNet-C relative mCE (%): like mCE, but on the increase of error over clean ImageNet error "
               "(the model's and AlexNet's), averaged over the 15 corruptions; joined from the model's clean "
               "ImageNet record.", source="joined", key="relative_mce", core=True),
    )

    @property
    def corruption_set(self):
        return imagenet_c_metrics.corruption_set()

    def write_generated(self, out, **options):
        return write_imagenet_c(out, **options)


def write_imagenet_c(out, *, n_classes=2, per_class=2, size=224, seed=0, labels=None, corruptions=None,
                     severities=(1, 2, 3, 4, 5)):
    """``out/<corruption>/<severity>/<wnid>/*.JPEG`` (JPEG quality 85, as released): square images of the
    colour code (robench.datasets.colour_code) corrupted with ``imagecorruptions`` (all 19 corruptions by
    default; ~4 s per 224px image for all 95 cells on one core), so the colour oracle's error grows with
    severity much as a real model's does; plus the marker that makes records say 'generated'. Each cell's
    noise has its own seed, so any subset of cells is written with the same bytes."""
    import os

    import numpy as np
    from PIL import Image

    from robench.datasets.base import write_generated_marker
    from robench.datasets.colour_code import choose_classes, make_image, save_image
    from robench.datasets.corruptions import corrupt_array, corruption_names, generator
    from robench.labels import imagenet_wnids

    labels = labels or choose_classes(n_classes, seed)
    corruptions = list(corruptions or corruption_names("all"))
    wnids, count = imagenet_wnids(), 0
    saved = np.random.get_state()
    try:
        for label in labels:
            for j in range(per_class):
                clean = np.asarray(make_image(label, np.random.default_rng([seed, label, j]), size, size))
                for corruption in corruptions:
                    for severity in severities:
                        np.random.seed(_cell_seed(seed, label, j, corruption, severity))
                        pixels = corrupt_array(clean, corruption, severity)
                        folder = os.path.join(out, corruption, str(severity), wnids[label])
                        os.makedirs(folder, exist_ok=True)
                        name = f"ILSVRC2012_val_{label:04d}{j:04d}.JPEG"
                        save_image(Image.fromarray(pixels), os.path.join(folder, name), 85)
                        count += 1
    finally:
        np.random.set_state(saved)
    write_generated_marker(out, generator=f"robench data synth with {generator()}",
                           size=size, seed=seed, corruptions=corruptions, severities=list(severities))
    return count


def _cell_seed(*parts):
    import hashlib

    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:4], "little")
