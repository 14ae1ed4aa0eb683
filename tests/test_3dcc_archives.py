"""ImageNet-3DCC read from its per-corruption ``<corruption>.tar.gz`` as downloaded (real gzip'd tars made
by tarfile from the stand-in): the records equal the extracted folders', any mix of archives and folders
works, the inflated copy is made once and reused, and a truncated archive or a cache turned off is one line."""
import os
import shutil
import tarfile

import pytest

from engine_support import ORACLE, in_process, load
from robench.datasets import get_suite
from robench.errors import DatasetLayoutError

SELECT = "near_focus,fog_3d/2,flash/5"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    base = tmp_path_factory.mktemp("3dcc")
    folders = base / "folders"
    get_suite("imagenet-3dcc").write_generated(str(folders), n_classes=2, per_class=2, size=32)
    archives = base / "archives"
    archives.mkdir()
    for corruption in sorted(os.listdir(folders)):
        if (folders / corruption).is_dir():
            with tarfile.open(archives / f"{corruption}.tar.gz", "w:gz") as tar:
                tar.add(folders / corruption, arcname=corruption)
    shutil.copy(folders / "robench-generated.json", archives)
    return folders, archives


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ROBENCH_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "inflated-tar"


def evaluate(root, out):
    in_process(["eval", "-m", ORACLE, "-s", "imagenet-3dcc", "-r", str(root), "-o", str(out), "-j", "0", "-b", "4",
                "--no-progress", "--select", SELECT])
    return load(out / "colour_oracle" / "imagenet-3dcc.json")


def test_the_tar_gz_files_give_the_folders_record(data, tmp_path, cache):
    folders, archives = data
    from_folders = evaluate(folders, tmp_path / "a")
    from_archives = evaluate(archives, tmp_path / "b")
    assert len(from_archives["variants"]) == 7
    assert from_archives["variants"] == from_folders["variants"]
    assert from_archives["aggregates"] == from_folders["aggregates"]
    assert from_archives["suite"]["data_format"]["format"] == "tar.gz"
    assert "near_focus.tar.gz" in from_archives["suite"]["data_format"]["files"]
    inflated = sorted(os.listdir(cache))
    assert len([n for n in inflated if n.endswith(".tar")]) == 12 and not [n for n in inflated if "partial" in n]
    stamps = {n: os.stat(cache / n).st_mtime_ns for n in inflated if n.endswith(".tar")}
    get_suite("imagenet-3dcc").variants(archives)  # scanned again: the copies are reused, not made again
    assert {n: os.stat(cache / n).st_mtime_ns for n in stamps} == stamps


def test_archives_and_extracted_folders_side_by_side(data, tmp_path, cache):
    folders, archives = data
    mixed = tmp_path / "mixed"
    shutil.copytree(archives, mixed)
    os.remove(mixed / "near_focus.tar.gz")
    shutil.copytree(folders / "near_focus", mixed / "near_focus")
    assert evaluate(mixed, tmp_path / "m")["variants"] == evaluate(folders, tmp_path / "f")["variants"]


def test_a_truncated_tar_gz_is_one_line(data, tmp_path, cache):
    _, archives = data
    cut = tmp_path / "cut"
    shutil.copytree(archives, cut)
    path = cut / "fog_3d.tar.gz"
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(DatasetLayoutError) as error:
        get_suite("imagenet-3dcc").variants(cut)
    message = str(error.value)
    assert "\n" not in message and "fog_3d.tar.gz does not inflate" in message
    assert not [n for n in os.listdir(cache) if "partial" in n]


def test_with_the_cache_off_a_tar_gz_is_one_line(data, monkeypatch):
    monkeypatch.setenv("ROBENCH_CACHE_DIR", "off")
    with pytest.raises(DatasetLayoutError, match="inflates it once into robench's cache") as error:
        get_suite("imagenet-3dcc").variants(data[1])
    assert "\n" not in str(error.value)
