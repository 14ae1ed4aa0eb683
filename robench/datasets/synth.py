"""Small generated data sets in the real on-disk layouts, for tests and the demo.

Each image's mean colour encodes its 1k class index (one of 10 levels per RGB channel, 10^3 =
1000 classes), under zero-mean noise and a random rectangle. ``robench.models.oracle`` decodes
the colour back, so its accuracy on clean generated data is exactly 100%: tests can assert exact
numbers through the whole real pipeline (JPEG files, decoding, resize/crop, batching, metrics).
"""
import os
import random

import numpy as np
from PIL import Image

from robench.labels import imagenet_wnids

LEVEL_BASE, LEVEL_STEP = 15, 25  # channel value of level k: 15 + 25k, k = 0..9


def colour_of(label):
    """RGB colour (0..255) that encodes a 1k class index."""
    digits = (label // 100, (label // 10) % 10, label % 10)
    return tuple(LEVEL_BASE + LEVEL_STEP * d for d in digits)


def make_image(label, rng: np.random.Generator, width, height):
    """An RGB image whose mean colour encodes ``label``."""
    img = np.empty((height, width, 3), np.float32)
    img[:] = colour_of(label)
    img += rng.normal(0.0, 6.0, size=img.shape)
    x0, y0 = rng.integers(0, width // 2), rng.integers(0, height // 2)
    x1, y1 = x0 + rng.integers(4, width // 2 + 4), y0 + rng.integers(4, height // 2 + 4)
    img[y0:y1, x0:x1] += rng.uniform(-8, 8, size=3)
    return Image.fromarray(np.clip(img, 0, 255).round().astype(np.uint8), "RGB")


def choose_classes(n_classes, seed=0, among=None):
    """``n_classes`` distinct 1k indices, spread over ``among`` (default all 1000), deterministic."""
    pool = list(among) if among is not None else list(range(1000))
    if not 1 <= n_classes <= len(pool):
        raise ValueError(f"n_classes must be between 1 and {len(pool)}")
    return sorted(random.Random(seed).sample(pool, n_classes))


def write_class_folders(directory, labels, per_class, *, seed=0, size=64, square=False, ext=".JPEG",
                        quality=90, name_prefix="ILSVRC2012_val"):
    """Writes ``directory/<wnid>/<name>_<n>.<ext>`` images; returns the number written."""
    wnids = imagenet_wnids()
    count = 0
    for label in labels:
        folder = os.path.join(directory, wnids[label])
        os.makedirs(folder, exist_ok=True)
        for j in range(per_class):
            rng = np.random.default_rng([seed, label, j])
            w = size if square else int(rng.integers(size, size * 4 // 3 + 1))
            h = size if square else int(rng.integers(size, size * 4 // 3 + 1))
            img = make_image(label, rng, w, h)
            path = os.path.join(folder, f"{name_prefix}_{label:04d}{j:04d}{ext}")
            save_image(img, path, quality)
            count += 1
    return count


def save_image(img, path, quality=90):
    if path.lower().endswith((".jpeg", ".jpg")):
        img.save(path, "JPEG", quality=quality)
    else:
        img.save(path)


def write_imagenet(out, *, n_classes=10, per_class=5, size=64, seed=0):
    """Clean ImageNet val layout: ``out/val/<wnid>/*.JPEG``; returns the number of images."""
    labels = choose_classes(n_classes, seed)
    return write_class_folders(os.path.join(out, "val"), labels, per_class, seed=seed, size=size)


WRITERS = {"imagenet": write_imagenet}  # suite name -> writer; one line per layout


def write_suite(name, out, **kwargs):
    """Writes the generated layout of suite ``name`` under ``out``; returns the number of images."""
    from robench.errors import RobenchError

    if name not in WRITERS:
        raise RobenchError(f"no generated layout for suite '{name}' (have: {', '.join(sorted(WRITERS))})")
    return WRITERS[name](out, **kwargs)
