"""Stand-in data for corruption benchmarks whose corruptions robench does not make (ImageNet-3DCC's
need a depth estimate; ImageNet-C-bar's are not implemented here): the real layout, filled with
colour-coded images degraded by severity.

Each cell ``<folder of the cell>/<wnid>/ILSVRC2012_val_<label><j>.JPEG`` (JPEG q85, as those benchmarks
are saved) holds the colour code (``robench.datasets.colour_code``) blended toward mid grey by a weight
that grows with the severity and differs by corruption, plus seeded noise: the colour oracle's error
grows with severity much as a model's does, so tests and the demo see real numbers through the real
loader. These are NOT the benchmark's corruptions; the marker makes every record say
``data_origin: generated``.
"""
import hashlib
import os

import numpy as np
from PIL import Image


def _seed(*parts):
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "little")


def degrade(clean, corruption_index, severity, seed):
    """Blend toward grey (0.12-0.6 by severity, shifted per corruption) plus Gaussian noise (sigma 6 x severity)."""
    rng = np.random.default_rng(seed)
    weight = min(0.9, 0.12 * severity + 0.03 * (corruption_index % 4))
    pixels = (1 - weight) * clean.astype(np.float64) + weight * 128.0
    pixels += rng.normal(0.0, 6.0 * severity, clean.shape)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def write_standin(suite, out, *, n_classes=2, per_class=2, size=224, seed=0, labels=None, what=""):
    """Every cell of ``suite`` (a CorruptionSuite) under ``out`` in its layout; returns the images written."""
    from robench.datasets.base import write_generated_marker
    from robench.datasets.colour_code import choose_classes, make_image, save_image
    from robench.labels import imagenet_wnids

    cset = suite.corruption_set
    labels = labels or choose_classes(n_classes, seed)
    wnids, count = imagenet_wnids(), 0
    for label in labels:
        for j in range(per_class):
            clean = np.asarray(make_image(label, np.random.default_rng([seed, label, j]), size, size))
            for i, corruption in enumerate(cset.all):
                for severity in cset.severities:
                    pixels = degrade(clean, i, severity, _seed(seed, label, j, corruption, severity))
                    folder = os.path.join(out, *suite.cell_folder(corruption, severity).split("/"), wnids[label])
                    os.makedirs(folder, exist_ok=True)
                    save_image(Image.fromarray(pixels), os.path.join(folder, f"ILSVRC2012_val_{label:04d}{j:04d}.JPEG"),
                               85)
                    count += 1
    how = what or "colour code blended toward grey by severity"
    write_generated_marker(out, generator=f"robench data synth: {suite.title} stand-in ({how})", size=size, seed=seed)
    return count
