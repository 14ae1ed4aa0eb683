"""The colour code: generated images whose class a reference model reads back exactly.

Each generated image's MEAN colour encodes its 1k class index: the hundreds, tens and units digits are
the levels of R, G and B, level k being the channel value ``LEVEL_BASE + LEVEL_STEP * k`` (15, 40, ...,
240; 10^3 = 1000 classes). Zero-mean noise and a small random rectangle make every image different
without moving its mean far from the code. ``robench.models.oracle`` (spec
``robench.models.oracle:colour_oracle``) decodes the mean colour back to the class, so its top-1 on
clean generated data is exactly 100%: tests and the demo assert exact numbers through the whole real
pipeline (files, decoding, resize/crop, batching, metrics, records). A stand-in that must look unlike
clean data (a texture, a rendition, a sketch) keeps the code by drawing only zero-mean changes on top
of it; a grayscale one uses the gray-coded classes (111 x k: all three digits equal).

This module is the API that each suite's ``write_generated`` (built-in or a plug-in's) uses:

- ``colour_of(label)``, ``make_image(label, rng, w, h)``: the code and one clean image of it;
- ``choose_classes(n, seed, among)``, ``gray_coded_classes(n, seed)``: which classes to write;
- ``write_class_folders(directory, labels, per_class)``: ``<wnid>/<name>.JPEG`` clean images;
- ``write_styled(directory, labels, per_class, draw, name_of)``: images from your own ``draw``;
- ``save_image(img, path)``, ``mark_generated(root)``: the file itself, and the marker that makes
  records of the data say ``data_origin: generated`` (never ranked beside the released data).

Every function is deterministic in its arguments (seeded per image), so the same call writes the same
bytes.
"""
import os
import random

import numpy as np
from PIL import Image

from robench.datasets.base import write_generated_marker
from robench.labels import imagenet_wnids

LEVEL_BASE, LEVEL_STEP = 15, 25  # channel value of level k: 15 + 25k, k = 0..9
GRAY_CODED = tuple(111 * k for k in range(10))  # classes whose code is gray (R = G = B)


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


def square_pixels(label, rng, size):
    """``make_image`` of a ``size`` square as a float HxWx3 array: the start of a ``draw`` for ``write_styled``."""
    return np.asarray(make_image(label, rng, size, size), np.float32)


def choose_classes(n_classes, seed=0, among=None):
    """``n_classes`` distinct 1k indices, spread over ``among`` (default all 1000), deterministic."""
    pool = list(among) if among is not None else list(range(1000))
    if not 1 <= n_classes <= len(pool):
        raise ValueError(f"n_classes must be between 1 and {len(pool)}")
    return sorted(random.Random(seed).sample(pool, n_classes))


def gray_coded_classes(n_classes, seed=0):
    """Classes whose colour is gray (111*k), so grayscale stand-ins keep the oracle's code; beyond 10,
    other classes (the oracle cannot read those from grayscale)."""
    gray = list(GRAY_CODED)
    if n_classes <= len(gray):
        return sorted(random.Random(seed).sample(gray, n_classes))
    return sorted(gray + choose_classes(n_classes - len(gray), seed, among=[c for c in range(1000) if c not in gray]))


def save_image(img, path, quality=90):
    """Saves a PIL image: JPEG at ``quality`` for a .jpeg/.jpg path, else the format the suffix names."""
    if path.lower().endswith((".jpeg", ".jpg")):
        img.save(path, "JPEG", quality=quality)
    else:
        img.save(path)


def write_class_folders(directory, labels, per_class, *, seed=0, size=64, square=False, ext=".JPEG",
                        quality=90, name_prefix="ILSVRC2012_val"):
    """Writes ``directory/<wnid>/<name_prefix>_<label><j>.<ext>`` clean images (sides ``size`` to 4/3 of
    it, or square); returns the number written."""
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


def write_styled(directory, labels, per_class, draw, name_of, *, seed, size, ext, mode="RGB", quality=90):
    """Writes ``directory/<folder>/<stem><ext>`` for ``per_class`` images of each label, where
    ``draw(label, rng, size)`` returns the HxWxC float pixels (C = 3, or 1 with ``mode="L"``) and
    ``name_of(label, j)`` returns ``(folder, stem)``, folder None meaning the label's wnid; returns the
    number written. ``rng`` is seeded by (seed, label, j)."""
    wnids = imagenet_wnids()
    count = 0
    for label in labels:
        for j in range(per_class):
            folder, stem = name_of(label, j)
            os.makedirs(os.path.join(directory, folder or wnids[label]), exist_ok=True)
            rng = np.random.default_rng([seed, label, j])
            pixels = np.clip(draw(label, rng, size), 0, 255).round().astype(np.uint8)
            img = Image.fromarray(pixels if mode == "RGB" else pixels[..., 0], mode)
            save_image(img, os.path.join(directory, folder or wnids[label], stem + ext), quality)
            count += 1
    return count


def mark_generated(root, **details):
    """Marks ``root`` as robench's generated data (``details``, e.g. size and seed, go in the marker)."""
    write_generated_marker(root, generator="robench data synth", **details)
