"""Shared by the tests of hosted forms (Hugging Face datasets on disk, published webdatasets): the same
generated images in the wnid-folder form and as samples to pack, and the record comparison that says
"the same numbers" (metrics, states, counts; only the data's fingerprint, root and format differ)."""
import os
import shutil

from click.testing import CliRunner

from robench.cli import cli
from robench.datasets import colour_code, get_suite
from robench.datasets.base import GENERATED_MARKER
from robench.labels import imagenet_wnids, subset_indices
from robench.results import read_record

from engine_support import ORACLE

WNIDS = imagenet_wnids()
R200 = subset_indices("imagenet_r")
A200 = subset_indices("imagenet_a")
# ImageNet val stand-in: both "crane" classes (134 the bird, 517 the machine, which Hugging Face names
# "crane2"), three ImageNet-R classes and three ImageNet-A classes, so each clean twin keeps some and drops some
VAL_LABELS = sorted({134, 517, 0, R200[0], R200[50], R200[199], A200[3], A200[120], 999})


def write_val_folders(root, labels=VAL_LABELS, per_class=2, size=32, seed=5):
    """``root/val/<wnid>/*.JPEG`` (clean colour-coded JPEGs) plus one image filed under the wrong class, so
    the colour oracle's top-1 is not 100% and a label read wrongly changes the numbers."""
    val = os.path.join(root, "val")
    colour_code.write_class_folders(val, labels, per_class, seed=seed, size=size)
    first, second = WNIDS[labels[0]], WNIDS[labels[1]]
    name = sorted(os.listdir(os.path.join(val, first)))[0]
    shutil.copy(os.path.join(val, first, name), os.path.join(val, second, "ILSVRC2012_val_09999999.JPEG"))
    return root


def folder_samples(suite_name, root):
    """(file name, image bytes, 1k label) of the folder form as the suite reads it, in its order."""
    (variant,) = get_suite(suite_name).variants(root)
    return [(os.path.basename(key), data, label) for key, data, label in variant.source.iter_range(0, len(variant))]


def copy_marker(folder_root, hosted_root):
    """The generated-data marker of the folder form, so both forms' records say the same data origin."""
    marker = os.path.join(folder_root, GENERATED_MARKER)
    if os.path.isfile(marker):
        shutil.copy(marker, os.path.join(hosted_root, GENERATED_MARKER))


def eval_record(suite, root, out, *extra, env=None):
    """``robench eval`` of the colour oracle on ``suite`` at ``root`` (in this process); its record."""
    result = CliRunner(env=env).invoke(cli, ["eval", "-m", ORACLE, "-s", suite, "-r", str(root), "-o", str(out),
                                             "-j", "0", "-b", "3", "--no-progress", *map(str, extra)])
    assert result.exit_code == 0, result.output
    return read_record(os.path.join(str(out), "colour_oracle", f"{suite}.json"))


def same_numbers(got, want):
    """Two records of the same images in two forms: equal in everything but where and how the data is held."""
    assert got["variants"] == want["variants"]
    assert got["aggregates"] == want["aggregates"]
    assert got["measurement_id"] == want["measurement_id"]
    plain = {"root", "fingerprint", "data_format"}
    assert {k: v for k, v in got["suite"].items() if k not in plain} == \
        {k: v for k, v in want["suite"].items() if k not in plain}
