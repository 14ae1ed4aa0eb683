"""webdataset tar shards: `robench data shard` packs folders byte for byte, and evaluating the
shards writes the same record as evaluating the folders; damaged shards are clear errors."""
import json
import os
import shutil

import pytest
from click.testing import CliRunner

from robench.cli import cli
from robench.datasets import get_suite
from robench.datasets.imagenet_c import write_imagenet_c
from robench.datasets.shard_writer import sample_key, write_shard_set, write_tar
from robench.errors import DatasetLayoutError
from robench.results import read_record

from engine_support import ORACLE


def _run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result


def _eval(suite, root, out, *extra):
    result = _run("eval", "-m", ORACLE, "-s", suite, "-r", root, "-o", out, "-j", "0", "-b", "4",
                  "--no-progress", *extra)
    assert result.exit_code == 0, result.output
    return read_record(os.path.join(out, "colour_oracle", f"{suite}.json"))


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("folders")
    write_imagenet_c(str(root / "c"), labels=[0, 555, 999], per_class=1, size=32,
                           corruptions=["fog", "glass_blur", "spatter"])
    get_suite("imagenet-a").write_generated(str(root / "a"), labels=[6, 11, 988], per_class=3, size=32)
    return root


@pytest.fixture(scope="module")
def shard_sets(folders, tmp_path_factory):
    out = tmp_path_factory.mktemp("shards")
    for suite, name in (("imagenet-c", "c"), ("imagenet-a", "a")):
        result = _run("data", "shard", suite, folders / name, out / name, "--shard-size", "2", "--no-progress",
                      *(["--select", "fog,glass_blur,spatter"] if suite == "imagenet-c" else []))
        assert result.exit_code == 0, result.output
    return out


def _comparable(record):
    aggregates = {k: v for k, v in record["aggregates"].items() if k != "notes"}  # notes name paths
    return record["variants"], aggregates, record["suite"]["fingerprint"], record["measurement_id"]


@pytest.mark.parametrize("suite, name, select", [("imagenet-c", "c", "fog,glass_blur"), ("imagenet-a", "a", None)])
def test_folders_and_shards_give_identical_records(folders, shard_sets, tmp_path, suite, name, select):
    extra = ["--select", select] if select else []
    from_folders = _eval(suite, folders / name, tmp_path / "f", *extra)
    from_shards = _eval(suite, shard_sets / name, tmp_path / "s", *extra)
    assert _comparable(from_folders) == _comparable(from_shards)
    assert from_folders["suite"]["root"] != from_shards["suite"]["root"]
    n = 3 * (10 if suite == "imagenet-c" else 3)
    assert sum(v["n_seen"] for v in from_shards["variants"]) == n


def test_manifest_counts_hashes_and_keys(folders, shard_sets):
    manifest = json.loads((shard_sets / "a" / "manifest.json").read_text())
    (variant,) = manifest["variants"]
    assert [s["count"] for s in variant["shards"]] == [2, 2, 2, 2, 1]
    assert variant["shards"][0]["url"] == "imagenet-a/all/000000.tar"
    assert len(variant["shards"][0]["sha256"]) == 64 and variant["count"] == 9 and variant["classes"] == 3
    (folder_variant,) = get_suite("imagenet-a").variants(folders / "a")
    assert variant["fingerprint"] == folder_variant.source.fingerprint()
    assert sample_key("n01498041/0.000006_stingray _ stingray_0.000000.jpg") == \
        "n01498041__0%2E000006_stingray _ stingray_0%2E000000%2Ejpg"
    c = json.loads((shard_sets / "c" / "manifest.json").read_text())
    assert len(c["variants"]) == 15 and c["variants"][0]["data_origin"] == "generated"


def test_shards_hold_original_bytes_and_read_with_webdataset(folders, shard_sets):
    import webdataset as wds

    url = str(shard_sets / "a" / "imagenet-a" / "all" / "000000.tar")
    samples = list(wds.WebDataset(url, shardshuffle=False))
    assert len(samples) == 2
    first = samples[0]
    path = first["path"].decode()
    assert first["__key__"] == sample_key(path) and path.startswith("n01498041/")
    assert int(first["cls"]) == 6
    assert first["jpg"] == (folders / "a" / "imagenet-a" / path).read_bytes()  # never re-encoded


def test_same_folders_give_the_same_shards(folders, shard_sets, tmp_path):
    write_shard_set(get_suite("imagenet-a"), folders / "a", tmp_path / "again", shard_size=2)
    again = json.loads((tmp_path / "again" / "manifest.json").read_text())
    first = json.loads((shard_sets / "a" / "manifest.json").read_text())
    assert again["variants"] == first["variants"]
    with pytest.raises(DatasetLayoutError, match="already holds a shard set"):
        write_shard_set(get_suite("imagenet-a"), folders / "a", tmp_path / "again")
    with pytest.raises(DatasetLayoutError, match="is already a shard set"):
        write_shard_set(get_suite("imagenet-a"), tmp_path / "again", tmp_path / "third")


def test_shard_slices_match_folder_slices(folders, shard_sets):
    (folder,) = get_suite("imagenet-a").variants(folders / "a")
    (shard,) = get_suite("imagenet-a").variants(shard_sets / "a")
    for start, stop in ((0, 9), (1, 4), (3, 5), (8, 9), (4, 4)):
        assert list(shard.source.iter_range(start, stop)) == list(folder.source.iter_range(start, stop))


def test_file_and_pipe_urls(shard_sets, tmp_path):
    root = tmp_path / "moved"
    shutil.copytree(shard_sets / "a", root)
    manifest = json.loads((root / "manifest.json").read_text())
    shards = manifest["variants"][0]["shards"]
    for i, shard in enumerate(shards):
        path = os.path.join(shard_sets / "a", shard["url"])
        shard["url"] = f"file:{path}" if i % 2 else f"pipe:cat '{path}'"
    (root / "manifest.json").write_text(json.dumps(manifest))
    shutil.rmtree(root / "imagenet-a")  # only the URLs can lead to the data now
    record = _eval("imagenet-a", root, tmp_path / "out")
    assert record["variants"][0]["n_seen"] == 9 and record["variants"][0]["metrics"]["top1"] == 100.0


def _copy(shard_sets, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(shard_sets / "a", root)
    return root, root / "imagenet-a" / "all" / "000001.tar"


def test_truncated_shard_is_a_clear_error(shard_sets, tmp_path):
    root, tar = _copy(shard_sets, tmp_path)
    data = tar.read_bytes()
    tar.write_bytes(data[: len(data) // 2])
    for workers in ("0", "1"):
        result = _run("eval", "-m", ORACLE, "-s", "imagenet-a", "-r", root, "-o", tmp_path / "out",
                      "-j", workers, "--no-progress")
        assert result.exit_code == 2, result.output
        assert str(tar) in result.output and "truncated" in result.output
        assert "Traceback" not in result.output
    check = _run("data", "check", "imagenet-a", root)
    assert check.exit_code == 2 and "truncated?" in check.output
    assert not os.path.exists(tmp_path / "out" / "colour_oracle" / "imagenet-a.json")


def test_shard_with_fewer_samples_than_its_manifest(folders, shard_sets, tmp_path):
    root, tar = _copy(shard_sets, tmp_path)
    (variant,) = get_suite("imagenet-a").variants(folders / "a")
    write_tar(str(tar), variant.source.iter_range(2, 3))  # a whole sample short, a valid tar
    (shard_variant,) = get_suite("imagenet-a").variants(root)
    with pytest.raises(DatasetLayoutError, match=r"holds 1 samples but the manifest says 2"):
        list(shard_variant.source.iter_range(0, 9))


def test_verify_detects_a_changed_byte_and_a_missing_shard(shard_sets, tmp_path):
    root, tar = _copy(shard_sets, tmp_path)
    data = bytearray(tar.read_bytes())
    data[700] ^= 0xFF
    tar.write_bytes(bytes(data))
    assert _run("data", "check", "imagenet-a", root).exit_code == 0  # same size: only --verify sees it
    result = _run("data", "check", "imagenet-a", root, "--verify")
    assert result.exit_code == 2 and "sha256 differs" in result.output
    tar.unlink()
    result = _run("data", "check", "imagenet-a", root)
    assert result.exit_code == 2 and "missing shard" in result.output


def test_manifest_of_another_suite_or_format(shard_sets, tmp_path):
    with pytest.raises(DatasetLayoutError, match="holds shards of suite 'imagenet-a', not 'imagenet-r'"):
        get_suite("imagenet-r").variants(shard_sets / "a")
    root, _ = _copy(shard_sets, tmp_path)
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["version"] = 99
    (root / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DatasetLayoutError, match="manifest version 99"):
        get_suite("imagenet-a").variants(root)


@pytest.mark.parametrize("mangle, words", [
    (lambda vs: vs + [dict(vs[0])], "is listed 2 times"),  # the same variant twice: the record would hold it twice
    (lambda vs: vs + [dict(vs[1]), dict(vs[1])], "is listed 3 times"),
    (lambda vs: vs + ["not an object"], "a variant entry is not an object"),
])
def test_a_manifest_that_lists_a_variant_twice_is_refused(shard_sets, tmp_path, mangle, words):
    root = tmp_path / "c"
    shutil.copytree(shard_sets / "c", root)
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["variants"] = mangle(manifest["variants"])
    (root / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DatasetLayoutError, match=words):
        get_suite("imagenet-c").variants(root, ["fog"])
    result = _run("eval", "-m", "robench.models.oracle:colour_oracle", "--root", root, "-o", tmp_path / "out",
                  "--select", "fog")
    assert result.exit_code == 2 and words in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*.json"))
