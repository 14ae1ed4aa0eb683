"""``robench data c-bar VAL OUT``: ImageNet-C-bar made from your ImageNet val as
facebookresearch/augmentation-corruption's ``imagenet_c_bar/make_imagenet_c_bar.py`` makes it.

The script: ImageFolder over ``val/`` (PIL RGB), Resize(256) + CenterCrop(224), the corruption with the
parameter of ``imagenet_c_bar.csv``, ``Image.fromarray(np.uint8(image)).save(path, quality=85,
optimize=True)`` to ``ImageNet-C-Bar/<corruption>/<parameter, '{:.2f}'>/<wnid>/<val file name>``. robench
writes the same layout under OUT (read back by the ``imagenet-c-bar`` suite), with the same crop
(``imagenet_c_gen.clean_crop``), its own vectorised corruptions (``c_bar_corruptions``) and the same JPEG
step (``imagenet_c_gen.encode``), file names ``<val stem>.JPEG``.

One departure, recorded in the marker: the random parameters. The script seeds numpy once in the main
process (``--seed 0``) while its DataLoader workers draw every image's parameters, so the released draws
depend on the worker count and scheduling and cannot be reproduced. robench draws each image's from
``RandomState(seed)`` with ``SEED_RULE``, a function of the image, the corruption and the severity only:
any run, any worker count, any resume gives the same files.

The files, the resume and the marker are ``robench data corrupt``'s (``corrupt_writer``): each file is
written under a temporary name and renamed, a rerun skips finished files, and a marker that names
another generator, library version or val set stops the run instead of mixing two data sets.
"""
import hashlib
import os

import numpy as np

from robench.datasets import corrupt_writer as W
from robench.datasets.base import write_generated_marker
from robench.errors import DatasetLayoutError, RobenchError

RECIPE = "imagenet-c-bar-gen/1"  # bump when the preprocessing, the seed rule or the encoding changes
SEED_RULE = ("np.random.RandomState(int.from_bytes(sha256(f'imagenet-c-bar|{key}|{corruption}|{severity}'.encode())"
             ".digest()[:4], 'little')) per image and cell, severity 1..5, key = '<wnid>/<file name>' of the val "
             "image; it draws the parameters the reference draws from np.random")
DEPARTURE = ("per-image random parameters from robench's seed rule: make_imagenet_c_bar.py seeds numpy once in "
             "its main process while its DataLoader workers draw the parameters, so the released draws cannot "
             "be reproduced")
PREPROCESSING = "PIL RGB; torchvision Resize(256) (bilinear) + CenterCrop(224), as make_imagenet_c_bar.py"
ENCODING = "JPEG, PIL quality=85 optimize=True, as make_imagenet_c_bar.py saved its images"


def seed_for(key, corruption, severity):
    """The RandomState seed of one (image, corruption, severity 1..5): a function of nothing else."""
    text = f"imagenet-c-bar|{key}|{corruption}|{int(severity)}".encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:4], "little")


def corrupt_pixels(clean, key, corruption, severity):
    """The 224x224x3 uint8 pixels of one val crop in one cell (severity 1..5)."""
    from robench.datasets.c_bar_corruptions import corrupt
    from robench.datasets.imagenet_c_bar import SEVERITIES

    rng = np.random.RandomState(seed_for(key, corruption, severity))
    return corrupt(clean, corruption, SEVERITIES[corruption][int(severity) - 1], rng)


def generator():
    from robench.datasets import c_bar_corruptions

    return f"robench c_bar_corruptions/{c_bar_corruptions.VERSION} (after augmentation-corruption imagenet_c_bar)"


def choose_cells(corruptions=None):
    """[(corruption, severity 1..5)] of the names asked for (default all 10); an unknown name is one line."""
    from robench.datasets.imagenet_c_bar import SEVERITIES
    from robench.registry import close_names

    names = list(SEVERITIES) if not corruptions else list(dict.fromkeys(corruptions))
    for name in names:
        if name not in SEVERITIES:
            raise RobenchError(f"unknown ImageNet-C-bar corruption {name!r};{close_names(name, SEVERITIES)} "
                               f"The 10 are: {', '.join(SEVERITIES)}")
    return [(c, s) for c in names for s in range(1, 6)]


def folder_of(corruption, severity):
    """The severity folder as the script names it: the CSV parameter, '{:.2f}' (e.g. '2.35')."""
    from robench.datasets.imagenet_c_bar import SEVERITIES

    return f"{SEVERITIES[corruption][int(severity) - 1]:.2f}"


def _marker_details(val, root):
    from robench.datasets.corruptions import libraries

    return {"generator": f"robench data c-bar with {generator()}", "corruption_generator": generator(),
            "benchmark": "ImageNet-C-bar", "recipe": RECIPE, "preprocessing": PREPROCESSING, "seed_rule": SEED_RULE,
            "departures": [DEPARTURE], "libraries": dict(libraries()), "encoding": "jpeg", "encoding_detail": ENCODING,
            "size": 224, "source": os.path.abspath(root), "source_fingerprint": val.content_id()}


def _work(out, todo, encoding="jpeg"):
    """Writes the ImageNet-C-bar cells of ``todo``; returns files written (runs in ``corrupt_writer``'s
    worker processes)."""
    return W.write_cells(out, todo, encoding, corrupt_pixels, folder_of)


def materialise(root, out, corruptions=None, workers=0, progress=False, block=8):
    """Writes ImageNet-C-bar cells of the val images under ``root`` to ``out``; returns (files written,
    files already there)."""
    from robench.datasets import imagenet_val, shards
    from robench.datasets.imagenet_c_gen import CleanVal

    root, out = os.fspath(root), os.fspath(out)
    cells = choose_cells(corruptions)
    if not os.path.isdir(root):
        raise DatasetLayoutError(f"{root} is not a folder; VAL is ImageNet val: VAL/val/<wnid>/*.JPEG, "
                                 "VAL/<wnid>/*.JPEG, or the flat folder or tar with the devkit")
    if shards.is_shard_root(root):
        raise DatasetLayoutError(f"{root} is a shard set; robench data c-bar reads ImageNet val folders "
                                 "(val/<wnid>/*.JPEG)")
    val = CleanVal(imagenet_val.val_source(root, "ImageNet val: VAL/val/<wnid>/*.JPEG or VAL/<wnid>/*.JPEG"))
    folder = val.folder
    names = [W.output_name(key) for key, _ in folder.entries]
    if len(set(names)) != len(names):
        raise DatasetLayoutError(f"{root}: val files whose names differ only by their extension would be written "
                                 "to one file; rename them")
    details = _marker_details(val, root)
    W._check_marker(out, details)
    os.makedirs(out, exist_ok=True)
    write_generated_marker(out, **details)

    on_disk = [(c, folder_of(c, s)) for c, s in cells]
    found = W._existing(out, on_disk, sorted({n.split("/")[0] for n in names}), ".JPEG")
    done = {cell: found[disk] for cell, disk in zip(cells, on_disk)}
    from robench.datasets import c_bar_corruptions  # noqa: F401  (imported before any worker starts)

    return W.write_missing(out, folder, names, cells, done, "jpeg", _work, workers, block, progress,
                           "ImageNet-C-bar")
