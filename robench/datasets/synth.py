"""Small generated data sets in the real on-disk layouts, for tests and the demo.

Each image's mean colour encodes its 1k class index (one of 10 levels per RGB channel, 10^3 =
1000 classes), under zero-mean noise and a random rectangle. ``robench.models.oracle`` decodes
the colour back, so its accuracy on clean generated data is exactly 100%: tests can assert exact
numbers through the whole real pipeline (JPEG files, decoding, resize/crop, batching, metrics).

Each suite's ``write_generated`` calls one writer here. Every writer leaves ``robench-generated.json``
at the root it wrote, so records made on it say ``data_origin: generated``. The stand-ins keep the colour code wherever the real
data set's nature allows, so the oracle still decodes them: stylized images carry a strong
zero-mean texture, renditions flat posterised patches, ImageNet-A images a small distracting patch
of another class's colour, sketches are grayscale JPEGs of gray-coded classes (111*k). ImageNet-C
cells are real corruptions (the ``imagecorruptions`` package) of generated 224x224 images, so the
oracle's error grows with severity much as a real model's does. Every writer is deterministic.
"""
import hashlib
import os
import random

import numpy as np
from PIL import Image

from robench.datasets.base import write_generated_marker
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


def mark_generated(root, **details):
    """Marks ``root`` as robench's generated data (kept if already there: a train split beside val)."""
    write_generated_marker(root, generator="robench data synth", **details)


def save_image(img, path, quality=90):
    if path.lower().endswith((".jpeg", ".jpg")):
        img.save(path, "JPEG", quality=quality)
    else:
        img.save(path)


def write_imagenet(out, *, n_classes=10, per_class=5, size=64, seed=0, train_per_class=0):
    """Clean ImageNet layout: ``out/val/<wnid>/*.JPEG`` and, with ``train_per_class``, a train split
    ``out/train/<wnid>/*.JPEG`` of other images of the same classes; returns the number of images."""
    labels = choose_classes(n_classes, seed)
    n = write_class_folders(os.path.join(out, "val"), labels, per_class, seed=seed, size=size)
    if train_per_class:
        n += write_class_folders(os.path.join(out, "train"), labels, train_per_class, seed=seed + 10_000,
                                 size=size, name_prefix="ILSVRC2012_train")
    mark_generated(out, size=size, seed=seed)
    return n


def _write_styled(directory, labels, per_class, draw, name_of, *, seed, size, ext, mode="RGB", quality=90):
    """Writes ``directory/<folder>/<name_of(label, j)><ext>`` with ``draw(label, rng, size)`` -> HxWxC
    float array; the folder is the wnid (or ``str(label)`` when ``name_of`` says so)."""
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


def _base(label, rng, size):
    return np.asarray(make_image(label, rng, size, size), np.float32)


def draw_stylized(label, rng, size):
    """Stands in for AdaIN style transfer: the class colour under a strong, foreign, zero-mean texture."""
    img = _base(label, rng, size)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    angle, period = rng.uniform(0, np.pi), rng.uniform(size / 12, size / 6)
    phase = rng.uniform(0, 2 * np.pi, size=3)
    theta = 2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle)) / period
    return img + 28.0 * np.sin(theta[..., None] + phase)


def draw_rendition(label, rng, size):
    """Stands in for a rendition (cartoon, painting): flat posterised patches around the class colour."""
    img = np.empty((size, size, 3), np.float32)
    img[:] = colour_of(label)
    cells = int(rng.integers(3, 7))
    edges = np.linspace(0, size, cells + 1).astype(int)
    for i in range(cells):
        for k in range(cells):
            sign = 1.0 if (i + k) % 2 else -1.0
            img[edges[i]:edges[i + 1], edges[k]:edges[k + 1]] += sign * rng.uniform(6, 10, size=3)
    return img + rng.normal(0.0, 2.0, size=img.shape)


def draw_adversarial(label, rng, size):
    """Stands in for a natural adversarial example: a small patch of another class's colour."""
    img = _base(label, rng, size)
    other = colour_of(int(rng.integers(0, 1000)))
    side = max(2, size // 5)
    y, x = rng.integers(0, size - side, size=2)
    img[y:y + side, x:x + side] = other
    return img


def draw_sketch(label, rng, size):
    """Stands in for a sketch: grayscale (one channel), gray level = class level, with thin strokes."""
    level = float(np.mean(colour_of(label)))
    img = np.full((size, size, 1), level, np.float32) + rng.normal(0.0, 4.0, size=(size, size, 1))
    for _ in range(3):
        row = int(rng.integers(0, size))
        img[row, :, 0] += 30.0 if level < 128 else -30.0
    return img


def gray_coded_classes(n_classes, seed=0):
    """Classes whose colour is gray (111*k), so grayscale stand-ins keep the oracle's code; beyond 10,
    other classes (the oracle cannot read those from grayscale)."""
    gray = [111 * k for k in range(10)]
    if n_classes <= len(gray):
        return sorted(random.Random(seed).sample(gray, n_classes))
    return sorted(gray + choose_classes(n_classes - len(gray), seed, among=[c for c in range(1000) if c not in gray]))


def write_stylized(out, *, n_classes=10, per_class=5, size=224, seed=0, labels=None):
    """``out/<wnid>/*.png``, square (Stylized-ImageNet is 224x224 after crop)."""
    labels = labels or choose_classes(n_classes, seed)
    n = _write_styled(out, labels, per_class, draw_stylized, lambda l, j: (None, f"ILSVRC2012_val_{l:04d}{j:04d}"),
                      seed=seed, size=size, ext=".png")
    mark_generated(out, size=size, seed=seed)
    return n


def write_imagenet_r(out, *, n_classes=10, per_class=5, size=64, seed=0, labels=None):
    """``out/imagenet-r/<wnid>/<style>_<n>.jpg`` over ImageNet-R's 200 classes."""
    from robench.labels import subset_indices

    labels = labels or choose_classes(n_classes, seed, among=subset_indices("imagenet_r"))
    styles = ("art", "cartoon", "deviantart", "embroidery", "graffiti", "painting", "sculpture", "sketch")
    n = _write_styled(os.path.join(out, "imagenet-r"), labels, per_class, draw_rendition,
                      lambda l, j: (None, f"{styles[j % len(styles)]}_{j}"), seed=seed, size=size, ext=".jpg")
    mark_generated(out, size=size, seed=seed)
    return n


def write_imagenet_a(out, *, n_classes=10, per_class=5, size=64, seed=0, labels=None):
    """``out/imagenet-a/<wnid>/*.jpg`` over ImageNet-A's 200 classes; file names have dots and
    spaces, as the released ones do (e.g. ``0.000116_digital clock _ digital clock_0.865662.jpg``)."""
    from robench.labels import subset_indices, wnid_lemmas

    labels = labels or choose_classes(n_classes, seed, among=subset_indices("imagenet_a"))
    lemma = wnid_lemmas()
    wnids = imagenet_wnids()

    def name_of(label, j):
        word = lemma[wnids[label]]
        return None, f"{j}.{label:06d}_{word} _ {word}_0.{j:06d}"

    n = _write_styled(os.path.join(out, "imagenet-a"), labels, per_class, draw_adversarial, name_of,
                      seed=seed, size=size, ext=".jpg")
    mark_generated(out, size=size, seed=seed)
    return n


def write_sketch(out, *, n_classes=10, per_class=5, size=64, seed=0, labels=None):
    """``out/sketch/<wnid>/*.JPEG``, real grayscale (mode L) JPEGs of gray-coded classes."""
    labels = labels or gray_coded_classes(n_classes, seed)
    n = _write_styled(os.path.join(out, "sketch"), labels, per_class, draw_sketch,
                      lambda l, j: (None, f"sketch_{l}_{j}"), seed=seed, size=size, ext=".JPEG", mode="L")
    mark_generated(out, size=size, seed=seed)
    return n


def write_imagenet_v2(out, *, n_classes=10, per_class=5, size=64, seed=0, labels=None):
    """The three variants ``out/imagenetv2-<variant>-format-val/<class index>/<hash>.jpeg``."""
    from robench.datasets.imagenet_v2 import VARIANTS, folder_names

    labels = labels or choose_classes(n_classes, seed)
    total = 0
    for i, variant in enumerate(VARIANTS):
        def name_of(label, j, i=i):
            return str(label), hashlib.sha1(f"{seed}-{i}-{label}-{j}".encode()).hexdigest()

        total += _write_styled(os.path.join(out, folder_names(variant)[0]), labels, per_class,
                               _base, name_of, seed=seed + 1000 * i, size=size, ext=".jpeg")
    mark_generated(out, size=size, seed=seed)
    return total


def write_imagenet_c(out, *, n_classes=2, per_class=2, size=224, seed=0, labels=None, corruptions=None,
                     severities=(1, 2, 3, 4, 5)):
    """``out/<corruption>/<severity>/<wnid>/*.JPEG`` (JPEG quality 85, as released): generated clean
    square images corrupted with ``imagecorruptions`` (all 19 corruptions by default; ~4 s per
    224px image for all 95 cells on one core), plus the marker that makes records say 'generated'."""
    from robench.datasets.corruptions import corrupt_array, corruption_names, generator

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
                        save_image(Image.fromarray(pixels), os.path.join(folder, f"ILSVRC2012_val_{label:04d}{j:04d}.JPEG"), 85)
                        count += 1
    finally:
        np.random.set_state(saved)
    write_generated_marker(out, generator=f"robench data synth with {generator()}",
                           size=size, seed=seed, corruptions=corruptions, severities=list(severities))
    return count


def _cell_seed(*parts):
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:4], "little")


def write_suite(name, out, **kwargs):
    """Writes the generated layout of suite ``name`` under ``out`` (its ``write_generated``); returns
    the number of images."""
    from robench.datasets import get_suite

    return get_suite(name).write_generated(out, **kwargs)
