"""Generated data in the ImageNet val layout, labels from wnids, and layout errors."""
import hashlib
import os

import pytest

from robench.datasets import get_suite
from robench.datasets.colour_code import choose_classes
from robench.datasets.imagenet import write_imagenet
from robench.errors import DatasetLayoutError, RobenchError
from robench.labels import imagenet_wnids, label_of, subset_indices


def _digest(root):
    h = hashlib.sha256()
    for dirpath, _, files in sorted(os.walk(root)):
        for f in sorted(files):
            h.update(f.encode())
            with open(os.path.join(dirpath, f), "rb") as fh:
                h.update(fh.read())
    return h.hexdigest()


def test_wnid_indices_come_from_timm_sorted_list():
    wnids = imagenet_wnids()
    assert len(wnids) == 1000
    assert label_of("n01440764", "x") == 0  # tench
    assert label_of("n15075141", "x") == 999  # toilet tissue
    assert label_of("n02119789", "x") == 278  # kit fox
    assert len(subset_indices("imagenet_r")) == 200
    assert subset_indices("imagenet_r")[0] == 1  # goldfish is the first R class


def test_synth_writes_real_layout_and_is_deterministic(tmp_path):
    n = write_imagenet(str(tmp_path / "a"), n_classes=4, per_class=3, size=32, seed=7)
    write_imagenet(str(tmp_path / "b"), n_classes=4, per_class=3, size=32, seed=7)
    assert n == 12
    folders = sorted(os.listdir(tmp_path / "a" / "val"))
    assert folders == sorted(imagenet_wnids()[i] for i in choose_classes(4, 7))
    files = os.listdir(tmp_path / "a" / "val" / folders[0])
    assert len(files) == 3 and all(f.endswith(".JPEG") for f in files)
    with open(tmp_path / "a" / "val" / folders[0] / files[0], "rb") as f:
        assert f.read(3) == b"\xff\xd8\xff"  # a real JPEG
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    write_imagenet(str(tmp_path / "c"), n_classes=4, per_class=3, size=32, seed=8)
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_imagenet_suite_labels_follow_wnids_not_folder_order(clean_root):
    (variant,) = get_suite("imagenet").variants(clean_root)
    assert len(variant) == 50
    samples = list(variant.source.iter_range(0, 50))
    for key, data, label in samples:
        assert imagenet_wnids()[label] == key.split("/")[0]
    # the folder sort position is not the label: the first folder is not class 0
    assert samples[0][2] != 0


def test_imagenet_suite_accepts_val_dir_itself(clean_root):
    (variant,) = get_suite("imagenet").variants(clean_root / "val")
    assert len(variant) == 50


def test_missing_root_names_the_path(tmp_path):
    with pytest.raises(DatasetLayoutError, match="does not exist"):
        get_suite("imagenet").variants(tmp_path / "nope")


def test_non_wnid_folder_is_a_layout_error(tmp_path):
    (tmp_path / "val" / "cats").mkdir(parents=True)
    (tmp_path / "val" / "cats" / "a.JPEG").write_bytes(b"x")
    with pytest.raises(DatasetLayoutError, match="'cats' is not an ImageNet-1k wnid"):
        get_suite("imagenet").variants(tmp_path)


def test_empty_root_is_a_layout_error(tmp_path):
    (tmp_path / "val").mkdir()
    with pytest.raises(DatasetLayoutError, match="no class folders"):
        get_suite("imagenet").variants(tmp_path)


def test_unknown_suite_suggests_close_names():
    with pytest.raises(RobenchError, match="Did you mean imagenet"):
        get_suite("imagenett")


def test_select_on_clean_imagenet_is_checked_not_ignored(clean_root):
    (variant,) = get_suite("imagenet").variants(clean_root, ["val"])
    assert variant.name == "imagenet/val"
    with pytest.raises(DatasetLayoutError, match="no variant matches fog"):
        get_suite("imagenet").variants(clean_root, ["fog"])
