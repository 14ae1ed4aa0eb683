"""The data sets as they are downloaded, made with the real tools from colour-coded images (stand-ins
for the releases, which cannot be downloaded here): each writer makes one release's on-disk form and,
beside it, the wnid-folder form of the very same image bytes, so a test can assert that both give the
same record. Some images carry the colour of another class on purpose, so the colour oracle's
accuracy is an exact fraction below 100% and a wrong label mapping changes it.

- ImageNet val: the flat ``ILSVRC2012_val_NNNNNNNN.JPEG`` files (image-net.org's ILSVRC2012_img_val.tar,
  made with GNU tar), the devkit (``ILSVRC2012_devkit_t12/data/meta.mat`` written with scipy in the
  devkit's struct layout, the ground-truth file; its .tar.gz made with ``tar -czf``) and Kaggle's
  ``LOC_val_solution.csv``.
- ImageNet-C: Zenodo's five group tars ``blur.tar`` ... ``extra.tar`` (``tar -cf``), inside
  ``<corruption>/<severity>/<wnid>/*.JPEG``.
- ImageNet-R/-A: ``imagenet-r.tar`` / ``imagenet-a.tar`` (the latter with its README.txt), inside
  ``imagenet-r/<wnid>/*``.
- ImageNet-Sketch: ``ImageNet-Sketch.zip`` made with Info-ZIP's ``zip -r`` (deflated), inside
  ``sketch/<wnid>/*.JPEG``.
"""
import csv
import os
import random
import shutil
import subprocess

import numpy as np

from robench.datasets.colour_code import make_image, save_image
from robench.labels import imagenet_wnids

GROUP_TARS = {"blur": ("defocus_blur", "glass_blur", "motion_blur", "zoom_blur"),
              "digital": ("contrast", "elastic_transform", "pixelate", "jpeg_compression"),
              "noise": ("gaussian_noise", "shot_noise", "impulse_noise"),
              "weather": ("snow", "frost", "fog", "brightness"),
              "extra": ("speckle_noise", "gaussian_blur", "spatter", "saturate")}


def tool(*argv, cwd=None):
    """Runs a real archiver (tar, zip); its failure fails the test with its message."""
    done = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(map(str, argv))}: {done.stderr}"


def tar_of(tar_path, parent, *names, gzip=False):
    """``tar -cf TAR -C PARENT NAMES...`` (GNU tar), as the releases were made."""
    os.makedirs(os.path.dirname(os.fspath(tar_path)), exist_ok=True)
    tool("tar", "-czf" if gzip else "-cf", os.path.abspath(tar_path), "-C", parent, *names)
    return tar_path


def zip_of(zip_path, parent, name, *flags):
    """``zip -q -r ZIP NAME`` run in PARENT (Info-ZIP; deflated unless ``-0``)."""
    os.makedirs(os.path.dirname(os.fspath(zip_path)), exist_ok=True)
    tool("zip", "-q", "-r", *flags, os.path.abspath(zip_path), name, cwd=parent)
    return zip_path


def _image(path, shown, seed, size, square=False):
    rng = np.random.default_rng(seed)
    save_image(make_image(shown, rng, size if square else size + int(rng.integers(0, size // 3)), size), path)


def class_folders(folder, plan, size=40, seed=0, ext=".JPEG", name="img"):
    """``folder/<wnid>/<name>_<j>.<ext>`` for a plan of (label, shown colour) pairs; returns ``folder``."""
    wnids = imagenet_wnids()
    for j, (label, shown) in enumerate(plan):
        os.makedirs(os.path.join(folder, wnids[label]), exist_ok=True)
        _image(os.path.join(folder, wnids[label], f"{name}_{j:04d}{ext}"), shown, [seed, j], size)
    return folder


def wrong_every(labels, per_class, every):
    """A plan: ``per_class`` images of each label, every ``every``-th showing the next class's colour."""
    plan = [(label, label) for label in labels for _ in range(per_class)]
    return [(label, (label + 1) % 1000 if i % every == every - 1 else shown) for i, (label, shown) in enumerate(plan)]


# --- ImageNet val ------------------------------------------------------------------------------------
def val_plan(labels, per_class, seed=1, every=4):
    """(label, shown colour) per image in file-number order: classes shuffled, as in the real val set."""
    plan = wrong_every(labels, per_class, every)
    random.Random(seed).shuffle(plan)
    return plan


def write_val(flat, folders, plan, size=40):
    """The flat official files in ``flat`` and the same bytes in ``folders/<wnid>/``; returns the names."""
    wnids = imagenet_wnids()
    os.makedirs(flat, exist_ok=True)
    names = []
    for number, (label, shown) in enumerate(plan, 1):
        name = f"ILSVRC2012_val_{number:08d}.JPEG"
        _image(os.path.join(flat, name), shown, [7, number], size)
        os.makedirs(os.path.join(folders, wnids[label]), exist_ok=True)
        shutil.copy2(os.path.join(flat, name), os.path.join(folders, wnids[label], name))
        names.append(name)
    return names


def devkit_ids(seed=2):
    """{wnid: ILSVRC2012_ID} in an order that is not the sorted-wnid one (as in the real devkit)."""
    wnids = list(imagenet_wnids())
    random.Random(seed).shuffle(wnids)
    return {w: i for i, w in enumerate(wnids, 1)}


def write_devkit(parent, plan, ids=None):
    """``parent/ILSVRC2012_devkit_t12/`` with ``data/meta.mat`` (the ``synsets`` struct array: 1000 leaves
    with IDs 1-1000 and internal synsets after them, fields in the devkit's order) and
    ``data/ILSVRC2012_validation_ground_truth.txt`` (one ID per image, file-number order)."""
    import scipy.io

    ids = ids or devkit_ids()
    data = os.path.join(parent, "ILSVRC2012_devkit_t12", "data")
    os.makedirs(data, exist_ok=True)
    fields = ["ILSVRC2012_ID", "WNID", "words", "gloss", "num_children", "children", "wordnet_height",
              "num_train_images"]
    internal = [("n00001740", "entity"), ("n00002137", "abstraction, abstract entity"), ("n00021939", "artifact")]
    leaves = sorted(ids.items(), key=lambda item: item[1])
    synsets = np.zeros((len(leaves) + len(internal), 1), dtype=[(f, "O") for f in fields])
    for row, (wnid, i) in enumerate(leaves):
        synsets[row, 0] = (i, wnid, f"words of {wnid}", "a gloss", 0, np.zeros((0,), np.uint8), 0, 1300)
    for k, (wnid, words) in enumerate(internal):
        synsets[len(leaves) + k, 0] = (1001 + k, wnid, words, "a gloss", 2, np.array([1, 2], np.uint16), 5, 0)
    scipy.io.savemat(os.path.join(data, "meta.mat"), {"synsets": synsets})
    wnids = imagenet_wnids()
    with open(os.path.join(data, "ILSVRC2012_validation_ground_truth.txt"), "w") as f:
        f.writelines(f"{ids[wnids[label]]}\n" for label, _ in plan)
    with open(os.path.join(parent, "ILSVRC2012_devkit_t12", "readme.txt"), "w") as f:
        f.write("ILSVRC2012 development kit (stand-in)\n")
    return os.path.join(parent, "ILSVRC2012_devkit_t12")


def write_kaggle_csv(path, plan, seed=3):
    """Kaggle's LOC_val_solution.csv: ImageId,PredictionString (wnid + box, some with two boxes), rows
    in no particular order."""
    wnids = imagenet_wnids()
    rows = []
    for number, (label, _) in enumerate(plan, 1):
        boxes = f"{wnids[label]} 10 12 200 180" + (f" {wnids[label]} 3 4 50 60" if number % 3 == 0 else "")
        rows.append((f"ILSVRC2012_val_{number:08d}", boxes))
    random.Random(seed).shuffle(rows)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["ImageId", "PredictionString"])
        writer.writerows(rows)
    return path


# --- ImageNet-C ------------------------------------------------------------------------------------
def imagenet_c_folders(root, corruptions, labels, size=224):
    """``root/<corruption>/<severity>/<wnid>/*.JPEG`` of 224x224 images as released, in cell (i, s) the first
    (i + s) % 3 images of the other colour (errors vary by cell)."""
    wnids = imagenet_wnids()
    for i, corruption in enumerate(corruptions):
        for s in range(1, 6):
            for k, label in enumerate(labels):
                folder = os.path.join(root, corruption, str(s), wnids[label])
                os.makedirs(folder, exist_ok=True)
                shown = (label + 1) % 1000 if k < (i + s) % 3 else label
                _image(os.path.join(folder, f"ILSVRC2012_val_{label + 1:08d}.JPEG"), shown, [i, s, k], size, True)
    return root


def imagenet_c_tars(folders, out, groups=None):
    """Zenodo's tars of the corruptions present in ``folders``: ``out/<group>.tar``; returns their paths."""
    made = []
    for group, members in GROUP_TARS.items():
        present = [c for c in members if os.path.isdir(os.path.join(folders, c))]
        if present and (groups is None or group in groups):
            made.append(tar_of(os.path.join(out, f"{group}.tar"), folders, *present))
    return made


# --- running robench on them ------------------------------------------------------------------------
ORACLE = "robench.models.oracle:colour_oracle"


def cli(*args):
    """``robench ARGS`` in this process; the click result (exit code and output)."""
    from click.testing import CliRunner

    from robench.cli import cli as robench

    return CliRunner().invoke(robench, [str(a) for a in args])


def evaluate(suite, root, out, *extra):
    """The colour oracle's record of ``suite`` read from ``root`` (``-r``, or ``--data-dir`` in ``extra``)."""
    from robench.results import read_record

    where = ["-r", root] if root is not None else []
    result = cli("eval", "-m", ORACLE, "-s", suite, *where, "-o", out, "-j", "0", "-b", "4", "--no-progress", *extra)
    assert result.exit_code == 0, result.output
    return read_record(os.path.join(out, "colour_oracle", f"{suite}.json"))


def values(record):
    """What must be equal between two forms of the same images: every variant (names, counts, metrics,
    states, skipped files) and the aggregates (notes aside: they name folders)."""
    aggregates = {k: v for k, v in (record.get("aggregates") or {}).items() if k != "notes"}
    return record["variants"], aggregates, record["measurement_id"], record["suite"]["data_origin"]


def one_line_error(result, *words):
    """The command failed with one ``Error:`` line (exit 2) holding ``words``, and no traceback."""
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert lines[-1].startswith("Error: ") and "Traceback" not in result.output, result.output
    for word in words:
        assert word in lines[-1], (word, lines[-1])
    return lines[-1]


def records_in(out):
    return sorted(p for p in (os.listdir(out) if os.path.isdir(out) else []))
