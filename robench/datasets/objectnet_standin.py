"""Stand-in ObjectNet in its real layout: ``objectnet-1.0/images/<folder>/*.png`` with a red 1-pixel
border, and ``objectnet-1.0/mappings/`` holding the four mapping files in their real formats over a few
classes, so the suite's whole path (mapping files, label sets, border crop, scoring) runs on it.

Each ObjectNet class of the stand-in maps to two ImageNet classes; one more folder maps to none (like
ObjectNet's 200 classes outside ImageNet: never read). Image ``j`` of a class draws the colour code
(``robench.datasets.colour_code``) of: its set's first class (j % 4 == 0), its set's last class (1),
the first class of the next set (2: wrong), or a class outside every set (3: wrong 1000-way, and scored
among the mapped classes it is whatever the model ranks first there). The colour oracle is right on 0 and
1 only once the border is cropped: on a 32-pixel image the red border moves the mean colour by more than
a code step. The ImageNet label file lists the 1000 classes in a shuffled order, as ObjectNet's
``imagenet_to_label_2012_v2`` is not in PyTorch's order, so a reader that skips
``pytorch_to_imagenet_2012_id.json`` gets the wrong classes.

``zip_standin`` packs it as the download is packed: one zip made by Debian's ``zip -P`` (ZipCrypto).
"""
import json
import os
import random
import shutil
import subprocess

import numpy as np
from PIL import Image

UNMAPPED = "unmapped_object"  # a folder whose class is not in ImageNet-1k: not read
RED = (255, 0, 0)


def standin_sets(n_classes, seed):
    """({folder: [two 1k indices]}, [1k indices in no set]) of the stand-in."""
    from robench.datasets.colour_code import choose_classes

    pool = choose_classes(2 * n_classes + 4, seed)
    rng = random.Random(seed)
    rng.shuffle(pool)
    sets = {f"object_{k:02d}": sorted(pool[2 * k:2 * k + 2]) for k in range(n_classes)}
    return sets, sorted(pool[2 * n_classes:])


def drawn_class(sets, outside, folder, j):
    """The class whose colour image ``j`` of ``folder`` carries (see the module docstring)."""
    folders = sorted(sets)
    k = folders.index(folder)
    return (sets[folder][0], sets[folder][-1], sets[folders[(k + 1) % len(folders)]][0],
            outside[(k + j) % len(outside)])[j % 4]


def draw(label, rng, size):
    """A PNG-able RGB image of the colour code of ``label`` with ObjectNet's red 1-pixel border."""
    from robench.datasets.colour_code import make_image

    width = int(rng.integers(size, size * 4 // 3 + 1))
    pixels = np.array(make_image(label, rng, width, size))
    pixels[0, :], pixels[-1, :], pixels[:, 0], pixels[:, -1] = RED, RED, RED, RED
    return Image.fromarray(pixels, "RGB")


def write_objectnet_standin(out, *, n_classes=3, per_class=4, size=64, seed=0, labels=None):
    """The stand-in under ``out`` (``out/objectnet-1.0/...``); returns the images the suite reads (those of
    the mapped classes)."""
    from robench.datasets.colour_code import mark_generated
    from robench.errors import RobenchError
    from robench.labels import imagenet_wnids

    if labels is not None:
        raise RobenchError("objectnet's stand-in maps its own classes to ImageNet sets; it takes no labels")
    if n_classes < 2:
        raise RobenchError("objectnet's stand-in needs at least 2 classes (scoring over sets needs two)")
    top = os.path.join(out, "objectnet-1.0")
    sets, outside = standin_sets(n_classes, seed)
    count = 0
    for k, folder in enumerate([*sorted(sets), UNMAPPED]):
        os.makedirs(os.path.join(top, "images", folder), exist_ok=True)
        for j in range(per_class):
            rng = np.random.default_rng([seed, k, j])
            label = drawn_class(sets, outside, folder, j) if folder in sets else outside[j % len(outside)]
            draw(label, rng, size).save(os.path.join(top, "images", folder, f"{rng.integers(16 ** 7):07x}{j:02d}.png"))
            count += folder in sets
    wnids = imagenet_wnids()
    order = list(range(1000))
    random.Random(seed + 1).shuffle(order)  # line i of the label file: PyTorch class order[i]
    names = {index: f"stand-in class {index:03d} ({wnids[index]})" for index in range(1000)}
    os.makedirs(os.path.join(top, "mappings"), exist_ok=True)
    files = {
        "folder_to_objectnet_label.json": {**{f: f"Object {f[-2:]}" for f in sets}, UNMAPPED: "Unmapped object"},
        "objectnet_to_imagenet_1k.json": {f"Object {f[-2:]}": "; ".join(names[i] for i in members)
                                          for f, members in sets.items()},
        "pytorch_to_imagenet_2012_id.json": {str(index): line for line, index in enumerate(order)},
    }
    for name, table in files.items():
        with open(os.path.join(top, "mappings", name), "w") as f:
            json.dump(table, f, indent=1)
    with open(os.path.join(top, "mappings", "imagenet_to_label_2012_v2"), "w") as f:
        f.write("".join(names[index] + "\n" for index in order))
    for name, text in (("README", "Stand-in for ObjectNet 1.0 made by robench data synth: NOT ObjectNet.\n"),
                       ("LICENSE", "Generated test data (robench); ObjectNet's own licence does not apply.\n")):
        with open(os.path.join(top, name), "w") as f:
            f.write(text)
    mark_generated(out, size=size, seed=seed)
    return count


def zip_standin(out, zip_path, password, store=False):
    """``out/objectnet-1.0`` packed into ``zip_path`` with ``zip -P PASSWORD`` (ZipCrypto), as objectnet-1.0.zip
    is; ``store``: members stored, not deflated. The generated marker goes in beside it."""
    from robench.errors import RobenchError

    if shutil.which("zip") is None:
        raise RobenchError("making a password-protected zip needs Info-ZIP's zip (apt-get install zip)")
    zip_path = os.path.abspath(zip_path)
    args = ["zip", "-q", "-r", "-X", "-P", password, *(["-0"] if store else []), zip_path, "objectnet-1.0"]
    subprocess.run(args, cwd=out, check=True)
    return zip_path
