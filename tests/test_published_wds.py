"""Published webdataset copies, read as they are: the same images as timm's shard set, as CLIP_benchmark's
set and as a brace-expanded URL list give the same record as their wnid folders (metrics, states, counts).

Stand-ins, each in the real layout:
- `timm/imagenet-1k-wds` (validation): imagenet1k-validation-{0000..0002}.tar (tarfile; .jpg original bytes,
  .cls the sorted-wnid index, a .json beside) and _info.json with splits.validation (filenames, shard_lengths);
- `clip-benchmark/wds_imagenet1k` and `clip-benchmark/wds_imagenet-r`: test/0.tar ... written by webdataset's
  ShardWriter as CLIP_benchmark's webdataset_builder does (keys s0000000..., lossless WebP of the decoded
  pixels, .cls; for ImageNet-R 0..199 in the 200-class subset's order), test/nshards.txt, classnames.txt.
"""
import io
import json
import os
import shutil
import tarfile

import pytest
import yaml
from PIL import Image
from click.testing import CliRunner

from hosted_support import (R200, WNIDS, copy_marker, eval_record, folder_samples, same_numbers,
                            write_val_folders)
from robench.cli import cli
from robench.datasets import get_suite, wds_index
from robench.errors import DatasetLayoutError
from robench.labels import wnid_lemmas

TIMM_SHARDS = [f"imagenet1k-validation-{i:04d}.tar" for i in range(3)]


def _member(tar, name, payload):
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(payload), 1_600_000_000, 0o644
    tar.addfile(info, io.BytesIO(payload))


def write_timm_wds(root, samples, lengths=(7, 7, 5), info_name="_info.json", declared=None):
    """timm's layout: shards of (key.jpg, key.cls, key.json) in file-name order and the split info file."""
    os.makedirs(root, exist_ok=True)
    ordered = sorted(samples, key=lambda s: s[0])
    start = 0
    for name, n in zip(TIMM_SHARDS, lengths):
        with tarfile.open(os.path.join(root, name), "w", format=tarfile.GNU_FORMAT) as tar:
            for file_name, data, label in ordered[start:start + n]:
                key = os.path.splitext(file_name)[0]
                _member(tar, f"{key}.jpg", data)
                _member(tar, f"{key}.cls", str(label).encode())
                _member(tar, f"{key}.json", json.dumps({"filename": file_name}).encode())
        start += n
    split = {"name": "validation", "num_samples": sum(lengths), "filenames": TIMM_SHARDS,
             "shard_lengths": list(declared or lengths)}
    info = {"name": "imagenet-1k", "splits": {"validation": split, "train": dict(split, name="train")}}
    with open(os.path.join(root, info_name), "w") as f:
        if info_name.endswith(".yaml"):
            yaml.safe_dump(info, f)
        else:
            json.dump(info, f)
    return root


def lossless_webp(data):
    image = Image.open(io.BytesIO(data)).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="webp", lossless=True)
    return out.getvalue()


def write_clip_benchmark(root, samples, cls_of, classnames, maxcount=4, split="test"):
    """CLIP_benchmark's webdataset_builder: ShardWriter over (webp, cls) with keys s%07d, then nshards.txt."""
    import webdataset

    os.makedirs(os.path.join(root, split))
    with open(os.path.join(root, "classnames.txt"), "w") as f:
        print(*classnames, sep="\n", end="\n", file=f)
    with open(os.path.join(root, "zeroshot_classification_templates.txt"), "w") as f:
        print("a photo of a {c}.", file=f)
    sink = webdataset.ShardWriter(os.path.join(root, split, "%d.tar"), maxcount=maxcount, verbose=0)
    for index, (_, data, label) in enumerate(samples):
        sink.write({"__key__": "s%07d" % index, "webp": lossless_webp(data), "cls": cls_of(label)})
    shards = sink.shard
    sink.close()
    with open(os.path.join(root, split, "nshards.txt"), "w") as f:
        print(shards, end="\n", file=f)
    return root


@pytest.fixture(scope="module")
def val(tmp_path_factory):
    base = tmp_path_factory.mktemp("wds")
    folders = write_val_folders(str(base / "folders"))
    samples = folder_samples("imagenet", folders)
    assert len(samples) == 19
    return {"base": base, "folders": folders, "samples": samples,
            "timm": write_timm_wds(str(base / "imagenet-1k-wds"), samples),
            "clip": write_clip_benchmark(str(base / "wds_imagenet1k"), samples, int,
                                         [wnid_lemmas()[w] for w in WNIDS]),
            "folder_record": eval_record("imagenet", folders, base / "out-folders")}


@pytest.fixture(scope="module")
def rendition(tmp_path_factory):
    """ImageNet-R folders and the same images as CLIP_benchmark's wds_imagenet-r (.cls = subset position)."""
    base = tmp_path_factory.mktemp("wds-r")
    folders = str(base / "folders")
    get_suite("imagenet-r").write_generated(folders, labels=[R200[0], R200[99], R200[199]], per_class=3, size=32)
    samples = folder_samples("imagenet-r", folders)
    clip = write_clip_benchmark(str(base / "wds_imagenet-r"), samples, R200.index,
                                [wnid_lemmas()[WNIDS[i]] for i in R200])
    copy_marker(folders, clip)
    return {"base": base, "folders": folders, "clip": clip,
            "folder_record": eval_record("imagenet-r", folders, base / "out-folders")}


def test_timm_info_shards_equal_folders(val, tmp_path):
    record = eval_record("imagenet", val["timm"], tmp_path / "out", "-j", "2")  # 2 DataLoader workers
    same_numbers(record, val["folder_record"])
    assert record["variants"][0]["state"]["correct1"] == 18  # 19 images, one filed under another class
    assert record["suite"]["data_format"] == {"format": "webdataset-timm", "files": TIMM_SHARDS,
                                              "labels": ".cls: ImageNet-1k index in sorted-wnid order"}


@pytest.mark.parametrize("info_name", ["info.json", "_info.yaml"])
def test_timm_info_file_names(val, tmp_path, info_name):
    root = write_timm_wds(str(tmp_path / "wds"), val["samples"], info_name=info_name)
    (variant,) = get_suite("imagenet").variants(root)
    got = sorted((os.path.splitext(k.split("/")[1])[0], d, l) for k, d, l in variant.source.iter_range(0, 19))
    assert got == sorted((os.path.splitext(n)[0], d, l) for n, d, l in val["samples"])


def test_clip_benchmark_webp_equals_folders_and_says_re_encoded(val, tmp_path):
    record = eval_record("imagenet", val["clip"], tmp_path / "out")
    same_numbers(record, val["folder_record"])  # lossless WebP of the decoded pixels: the same pixels
    assert record["suite"]["data_format"] == {
        "format": "webdataset-clip-benchmark", "files": [f"test/{i}.tar" for i in range(5)],
        "labels": ".cls: ImageNet-1k index in sorted-wnid order",
        "re_encoded": "lossless WebP of the decoded pixels (CLIP_benchmark's webdataset_builder)"}


def test_clip_benchmark_imagenet_r_maps_through_the_subset(rendition, tmp_path):
    record = eval_record("imagenet-r", rendition["clip"], tmp_path / "out")
    same_numbers(record, rendition["folder_record"])
    assert record["variants"][0]["n_images"] == 9
    assert record["suite"]["data_format"]["labels"] == \
        ".cls: position among the 200 imagenet_r classes in sorted-wnid order"


def test_clean_twin_from_timm_shards_keeps_its_200_classes(val, tmp_path):
    twin = eval_record("imagenet-val-a200", val["timm"], tmp_path / "wds")
    same_numbers(twin, eval_record("imagenet-val-a200", val["folders"], tmp_path / "folders"))
    assert twin["variants"][0]["n_images"] == 6  # ImageNet-A classes 15, 607, 988: 2 images each


def test_url_list_with_count_equals_folders(val, tmp_path):
    urls = os.path.join(val["timm"], "imagenet1k-validation-{0000..0002}.tar") + "|19"
    record = eval_record("imagenet", urls, tmp_path / "out")
    same_numbers(record, val["folder_record"])
    assert record["suite"]["data_format"]["format"] == "webdataset-urls"


@pytest.mark.parametrize("form", ["file", "pipe", "joined"])
def test_file_and_pipe_urls(val, form):
    shards = [os.path.join(val["timm"], n) for n in TIMM_SHARDS]
    root = {"file": "file:" + os.path.join(val["timm"], "imagenet1k-validation-{0000..0002}.tar"),
            "pipe": "pipe:cat " + os.path.join(val["timm"], "imagenet1k-validation-{0000..0002}.tar"),
            "joined": "::".join(shards)}[form]
    (variant,) = get_suite("imagenet").variants(root)
    assert len(variant) == 19
    assert sorted(label for _, _, label in variant.source.iter_range(0, 19)) == sorted(s[2] for s in val["samples"])


def test_slices_are_exact(val):
    for root in (val["timm"], val["clip"]):
        (variant,) = get_suite("imagenet").variants(root)
        whole = list(variant.source.iter_range(0, len(variant)))
        assert len(whole) == 19
        for a in range(0, 19, 2):
            for b in range(a, 20, 3):
                assert list(variant.source.iter_range(a, b)) == whole[a:b]


def test_index_is_read_once_and_cached(val, tmp_path, monkeypatch):
    root = shutil.copytree(val["clip"], str(tmp_path / "clip"))
    monkeypatch.setenv("ROBENCH_CACHE_DIR", str(tmp_path / "cache"))
    reads = []
    real = wds_index.samples
    monkeypatch.setattr(wds_index, "samples", lambda url: reads.append(url) or real(url))
    get_suite("imagenet").variants(root)
    assert len(reads) == 5 and len(os.listdir(tmp_path / "cache" / "wds-index")) == 5
    reads.clear()
    get_suite("imagenet").variants(root)
    assert reads == []  # counts, keys and labels from the cache
    shard = os.path.join(root, "test", "2.tar")
    os.utime(shard, ns=(os.stat(shard).st_atime_ns, os.stat(shard).st_mtime_ns + 10**9))
    get_suite("imagenet").variants(root)
    assert reads == [shard]  # a changed shard is read again


# --- bad input: one line naming the shard and what was expected ------------------------------------
def _error(suite, root, read=False):
    with pytest.raises(DatasetLayoutError) as e:
        (variant,) = get_suite(suite).variants(root)
        if read:
            list(variant.source.iter_range(0, len(variant)))
    assert "\n" not in str(e.value)
    return str(e.value)


def test_shard_shorter_than_its_declared_length(val, tmp_path):
    root = write_timm_wds(str(tmp_path / "wds"), val["samples"], declared=(8, 6, 5))
    message = _error("imagenet", root, read=True)
    assert message == (f"shard {TIMM_SHARDS[0]} holds 7 samples but _info.json (splits.validation.shard_lengths) "
                       "says 8 (truncated? download it again)")
    result = CliRunner().invoke(cli, ["eval", "-m", "robench.models.oracle:colour_oracle", "-r", root, "-o",
                                      str(tmp_path / "out"), "-j", "0", "--no-progress"])
    assert result.exit_code == 2 and "holds 7 samples but _info.json" in result.output
    longer = write_timm_wds(str(tmp_path / "longer"), val["samples"], declared=(6, 8, 5))
    assert _error("imagenet", longer, read=True) == (
        f"shard {TIMM_SHARDS[0]} holds more than the 6 samples _info.json (splits.validation.shard_lengths) says; "
        "was it rewritten? (delete the cached index or fix the info file)")


def test_keys_duplicated_across_shards(val, tmp_path):
    root = shutil.copytree(val["clip"], str(tmp_path / "clip"))
    shutil.copy(os.path.join(root, "test", "0.tar"), os.path.join(root, "test", "3.tar"))
    assert _error("imagenet", root) == "key 's0000000' is in shard test/0.tar and in shard test/3.tar: the shards " \
                                       "overlap (a shard listed twice or copied under two names?)"
    timm = write_timm_wds(str(tmp_path / "timm"), val["samples"])
    shutil.copy(os.path.join(timm, TIMM_SHARDS[0]), os.path.join(timm, TIMM_SHARDS[1]))
    assert "is in shard imagenet1k-validation-0000.tar and in shard imagenet1k-validation-0001.tar" in \
        _error("imagenet", timm, read=True)


def test_truncated_shard(val, tmp_path):
    root = shutil.copytree(val["clip"], str(tmp_path / "clip"))
    shard = os.path.join(root, "test", "1.tar")
    with open(shard, "r+b") as f:
        f.truncate(os.path.getsize(shard) // 2)
    message = _error("imagenet", root)
    assert message.startswith(f"shard {shard} is damaged or truncated after ")


def test_classnames_of_another_data_set(val):
    assert "classnames.txt has 1000 classes but this suite reads .cls as .cls: position among the 200 imagenet_r " \
           "classes" in _error("imagenet-r", val["clip"])


def test_cls_outside_the_numbered_classes(val, tmp_path):
    root = write_clip_benchmark(str(tmp_path / "r"), val["samples"][:2], lambda label: 200,
                                [wnid_lemmas()[WNIDS[i]] for i in R200])
    assert _error("imagenet-r", root) == ("shard test/0.tar, sample 's0000000': .cls 200 is outside the 200 classes "
                                          "this set numbers (.cls: position among the 200 imagenet_r classes in "
                                          "sorted-wnid order)")


def test_missing_shards_and_wrong_counts(val, tmp_path):
    timm = write_timm_wds(str(tmp_path / "timm"), val["samples"])
    os.unlink(os.path.join(timm, TIMM_SHARDS[2]))
    assert f"lists shard {TIMM_SHARDS[2]} but" in _error("imagenet", timm)
    clip = shutil.copytree(val["clip"], str(tmp_path / "clip"))
    os.unlink(os.path.join(clip, "test", "4.tar"))
    assert _error("imagenet", clip).startswith(f"{clip}/test/nshards.txt says 5 shards but {clip}/test/4.tar is not")
    urls = os.path.join(val["timm"], "imagenet1k-validation-{0000..0002}.tar") + "|50000"
    assert "the shards hold 19 samples but '|50000'" in _error("imagenet", urls)


def test_data_check_reports_the_format(val):
    result = CliRunner().invoke(cli, ["data", "check", "imagenet", val["clip"]])
    assert result.exit_code == 0, result.output
    assert "format: webdataset-clip-benchmark; 5 files (test/0.tar ...)" in result.output
    assert "re-encoded by its publisher: lossless WebP" in result.output


# --- several processes ------------------------------------------------------------------------------
@pytest.mark.multiprocess
def test_torchrun_world_2_on_clip_benchmark_equals_folders(rendition, tmp_path):
    from engine_support import ORACLE, load, run

    out = str(tmp_path / "out")
    run(["eval", "-m", ORACLE, "-s", "imagenet-r", "-r", rendition["clip"], "-o", out, "-j", "0", "-b", "2",
         "--no-progress"], nproc=2)
    record = load(os.path.join(out, "colour_oracle", "imagenet-r.json"))
    assert record["run"]["world_size"] == 2
    same_numbers(record, rendition["folder_record"])


@pytest.mark.multiprocess
def test_tasks_and_merge_on_timm_shards_equal_folders(val, tmp_path):
    """3 tasks over 19 samples in shards of 7, 7, 5: task slices start inside shards."""
    from engine_support import ORACLE, in_process, load

    out = str(tmp_path / "out")
    for i in range(3):
        in_process(["eval", "-m", ORACLE, "-r", val["timm"], "-o", out, "-j", "0", "-b", "3", "--no-progress",
                    "--task", f"{i}/3"])
    in_process(["merge", out])
    same_numbers(load(os.path.join(out, "colour_oracle", "imagenet.json")), val["folder_record"])
