"""Released archives read in place (robench.datasets.trees, archive_index): ImageNet-C's Zenodo tars
(blur/digital/noise/weather/extra.tar, any subset of them), ImageNet-C extracted one folder per group,
imagenet-r.tar, imagenet-a.tar (with its README.txt) and ImageNet-Sketch.zip, each made with the real
tool (GNU tar, Info-ZIP zip) from colour-coded stand-ins (tests/download_forms.py). Every form must give
the wnid-folder form's record values, in process, under torchrun, as job-array tasks merged and after
a kill -9 and rerun; a damaged archive is one line naming the archive and the member."""
import glob
import os
import shutil
import subprocess

import pytest

from download_forms import (GROUP_TARS, class_folders, cli, evaluate, imagenet_c_folders, imagenet_c_tars,
                            one_line_error, tar_of, tool, val_plan, values, write_devkit, write_val, wrong_every,
                            zip_of)
from engine_support import SLOW_ORACLE, comparable, env, kill_when, load, robench_cmd, run
from robench.datasets import get_suite
from robench.errors import DatasetLayoutError
from robench.labels import subset_indices

CORRUPTIONS = ["gaussian_noise", "shot_noise", "impulse_noise", "glass_blur", "fog", "spatter"]
SELECT = ",".join(CORRUPTIONS)
C_LABELS = [3, 500, 777]
R_LABELS = list(subset_indices("imagenet_r"))[:4]
A_LABELS = list(subset_indices("imagenet_a"))[:3]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """{form: root}: the extracted folders and each release's archives, same image bytes."""
    base = tmp_path_factory.mktemp("archives")
    out = {}
    folders = imagenet_c_folders(str(base / "c-folders"), CORRUPTIONS, C_LABELS)
    out["c folders"] = folders
    out["c tars"] = str(base / "c-tars")
    imagenet_c_tars(folders, out["c tars"])  # noise.tar, blur.tar, weather.tar, extra.tar
    out["c noise.tar"] = str(base / "c-noise")
    imagenet_c_tars(folders, out["c noise.tar"], groups=["noise"])
    grouped = base / "c-grouped"  # each tar extracted into a folder of its own, as users do
    for tar in sorted(glob.glob(os.path.join(out["c tars"], "*.tar"))):
        target = grouped / os.path.basename(tar)[:-4]
        target.mkdir(parents=True)
        tool("tar", "-xf", tar, "-C", target)
    out["c grouped"] = str(grouped)

    class_folders(str(base / "r-folders" / "imagenet-r"), wrong_every(R_LABELS, 2, 3), ext=".jpg")
    out["r folders"] = str(base / "r-folders")
    out["r tar"] = os.path.dirname(tar_of(base / "r-tar" / "imagenet-r.tar", out["r folders"], "imagenet-r"))
    class_folders(str(base / "a-folders" / "imagenet-a"), wrong_every(A_LABELS, 2, 4), ext=".jpg")
    (base / "a-folders" / "imagenet-a" / "README.txt").write_text("ImageNet-A (stand-in)\n")
    out["a folders"] = str(base / "a-folders")
    out["a tar"] = os.path.dirname(tar_of(base / "a-tar" / "imagenet-a.tar", out["a folders"], "imagenet-a"))
    class_folders(str(base / "s-folders" / "sketch"), wrong_every([0, 111, 222, 999], 2, 3))
    out["sketch folders"] = str(base / "s-folders")
    out["sketch zip"] = os.path.dirname(zip_of(base / "s-zip" / "ImageNet-Sketch.zip", out["sketch folders"], "sketch"))
    return out


@pytest.fixture(scope="module")
def references(data, tmp_path_factory):
    base = tmp_path_factory.mktemp("reference")
    return {"imagenet-c": evaluate("imagenet-c", data["c folders"], base / "c", "--select", SELECT),
            "imagenet-r": evaluate("imagenet-r", data["r folders"], base / "r"),
            "imagenet-a": evaluate("imagenet-a", data["a folders"], base / "a"),
            "imagenet-sketch": evaluate("imagenet-sketch", data["sketch folders"], base / "s")}


def test_the_references_have_exact_errors(references):
    c = references["imagenet-c"]
    assert len(c["variants"]) == 30
    # cell (i, s) has (i + s) % 3 of its 3 images in another class's colour
    assert [v["state"]["correct1"] for v in c["variants"][:5]] == [3 - (0 + s) % 3 for s in range(1, 6)]
    assert references["imagenet-r"]["variants"][0]["state"]["correct1"] == 8 - 2  # 8 images, every 3rd wrong
    assert references["imagenet-sketch"]["variants"][0]["state"]["correct1"] == 8 - 2


def test_imagenet_c_tars_in_place(data, references, tmp_path):
    record = evaluate("imagenet-c", data["c tars"], tmp_path, "--select", SELECT)
    assert values(record) == values(references["imagenet-c"])
    assert record["suite"]["data_format"] == {"format": "tar",
                                              "files": ["blur.tar", "extra.tar", "noise.tar", "weather.tar"]}


def test_only_noise_tar_with_select_noise(data, tmp_path):
    got = evaluate("imagenet-c", data["c noise.tar"], tmp_path / "tar", "--select", "noise")
    want = evaluate("imagenet-c", data["c folders"], tmp_path / "folders", "--select", "noise")
    assert values(got) == values(want) and len(got["variants"]) == 15
    assert got["suite"]["data_format"] == {"format": "tar", "files": ["noise.tar"]}


def test_imagenet_c_extracted_one_folder_per_group(data, references, tmp_path):
    record = evaluate("imagenet-c", data["c grouped"], tmp_path, "--select", SELECT)
    assert values(record) == values(references["imagenet-c"])
    assert record["suite"]["data_format"] == {"format": "folder"}


@pytest.mark.parametrize("suite, form, held", [
    ("imagenet-r", "r tar", {"format": "tar", "files": ["imagenet-r.tar"]}),
    ("imagenet-a", "a tar", {"format": "tar", "files": ["imagenet-a.tar"]}),
    ("imagenet-sketch", "sketch zip", {"format": "zip", "files": ["ImageNet-Sketch.zip"]})])
def test_released_archive_in_place(data, references, tmp_path, suite, form, held):
    record = evaluate(suite, data[form], tmp_path)
    assert values(record) == values(references[suite])
    assert record["suite"]["data_format"] == held


def test_the_data_directory_itself_may_be_given(data, references, tmp_path):
    """--root DIR where DIR/imagenet-r/imagenet-r.tar: the archive is found below the folder named."""
    parent = tmp_path / "data"
    (parent / "imagenet-r").mkdir(parents=True)
    shutil.copy(os.path.join(data["r tar"], "imagenet-r.tar"), parent / "imagenet-r")
    record = evaluate("imagenet-r", parent, tmp_path / "out")
    assert values(record) == values(references["imagenet-r"])


def test_a_stored_zip_reads_as_the_deflated_one(data, references, tmp_path):
    zip_of(tmp_path / "z" / "ImageNet-Sketch.zip", data["sketch folders"], "sketch", "-0")
    record = evaluate("imagenet-sketch", tmp_path / "z", tmp_path / "out")
    assert values(record) == values(references["imagenet-sketch"])


def test_data_check_reports_each_cells_tar(data):
    result = cli("data", "check", "imagenet-c", data["c tars"], "--select", SELECT, "--verify")
    assert result.exit_code == 0, result.output
    assert "format: tar; 1 file (noise.tar); labels: class folders (15 variant(s): imagenet-c/gaussian_noise/1" \
        in result.output
    assert "format: tar; 1 file (extra.tar); labels: class folders (5 variant(s): imagenet-c/spatter/1" in result.output


@pytest.mark.parametrize("suite, folders, archives, select", [
    ("imagenet-c", "c folders", "c tars", SELECT), ("imagenet-sketch", "sketch folders", "sketch zip", None)])
def test_data_shard_converts_archives_byte_for_byte(data, tmp_path, suite, folders, archives, select):
    extra = ["--select", select] if select else []
    for form in (folders, archives):
        result = cli("data", "shard", suite, data[form], tmp_path / form, "--shard-size", "2", "--no-progress", *extra)
        assert result.exit_code == 0, result.output
    made = sorted(os.path.relpath(p, tmp_path / folders) for p in glob.glob(str(tmp_path / folders / "**/*.tar"),
                                                                               recursive=True))
    assert made
    for rel in made:
        with open(tmp_path / folders / rel, "rb") as a, open(tmp_path / archives / rel, "rb") as b:
            assert a.read() == b.read(), rel


# --- the member index ------------------------------------------------------------------------------
def test_the_tar_index_is_built_once_and_cached(data, tmp_path, monkeypatch):
    from robench.datasets import archive_index

    monkeypatch.setenv("ROBENCH_CACHE_DIR", str(tmp_path / "cache"))
    tar = os.path.join(data["r tar"], "imagenet-r.tar")
    first = archive_index.tar_index(tar)
    assert len(first["names"]) == 8 and first["names"][0].startswith("imagenet-r/")
    assert len(os.listdir(tmp_path / "cache" / "archive-index")) == 1

    def no_pass(*args):
        raise AssertionError("the archive was read again")

    monkeypatch.setattr(archive_index, "build_tar_index", no_pass)
    assert archive_index.tar_index(tar) == first  # from the cache: no pass over the archive
    copy = tmp_path / "imagenet-r.tar"
    shutil.copy(tar, copy)  # another path (and mtime): another entry, built again
    with pytest.raises(AssertionError, match="read again"):
        archive_index.tar_index(str(copy))
    monkeypatch.undo()
    monkeypatch.setenv("ROBENCH_CACHE_DIR", "off")
    off = archive_index.tar_index(str(copy))
    assert off["names"] == first["names"] and len(os.listdir(tmp_path / "cache" / "archive-index")) == 1


def test_members_are_read_at_their_offsets(data):
    from robench.datasets.archive_index import open_tar

    tar = open_tar(os.path.join(data["r tar"], "imagenet-r.tar"))
    name = tar.names[3]
    with open(os.path.join(data["r folders"], name), "rb") as f:
        assert tar.read(3) == f.read()


# --- damaged and wrong archives: one line, nothing written ------------------------------------------
def _eval_fails(suite, root, tmp_path, *words, extra=()):
    out = tmp_path / "out"
    line = one_line_error(cli("eval", "-m", "robench.models.oracle:colour_oracle", "-s", suite, "-r", root,
                              "-o", out, "-j", "0", "--no-progress", *extra), *words)
    assert not os.path.exists(out), "nothing is written"
    return line


def _copy_cut(src, dst, keep):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(src, "rb") as f:
        data = f.read()
    with open(dst, "wb") as f:
        f.write(data[:keep])
    return dst


def test_a_tar_cut_inside_a_member(data, tmp_path):
    from robench.datasets.archive_index import tar_index

    src = os.path.join(data["r tar"], "imagenet-r.tar")
    index = tar_index(src)
    cut = index["offsets"][5] + index["sizes"][5] // 2  # in the middle of the 6th member's data
    _copy_cut(src, tmp_path / "r" / "imagenet-r.tar", cut)
    _eval_fails("imagenet-r", tmp_path / "r", tmp_path, "imagenet-r.tar is truncated", f"member {index['names'][5]}")


def test_a_tar_cut_between_members(data, tmp_path):
    from robench.datasets.archive_index import tar_index

    src = os.path.join(data["r tar"], "imagenet-r.tar")
    index = tar_index(src)
    end = index["offsets"][4] + (index["sizes"][4] + 511) // 512 * 512  # just after the 5th member's data
    _copy_cut(src, tmp_path / "r" / "imagenet-r.tar", end)
    _eval_fails("imagenet-r", tmp_path / "r", tmp_path, "truncated or damaged after member", "no end-of-archive")


def test_a_member_cut_short_after_indexing(data, tmp_path):
    """The archive shrinks after the scan (a copy still being written): the read names archive and member."""
    root = tmp_path / "r"
    root.mkdir()
    shutil.copy(os.path.join(data["r tar"], "imagenet-r.tar"), root)
    (variant,) = get_suite("imagenet-r").variants(str(root))
    tar = root / "imagenet-r.tar"
    os.truncate(tar, os.path.getsize(tar) // 2)
    with pytest.raises(DatasetLayoutError, match=r"imagenet-r\.tar: member imagenet-r/n\d+/img_\d+\.jpg is cut short"):
        list(variant.source.iter_range(0, len(variant)))


def test_a_zip_with_a_password(data, tmp_path):
    zip_of(tmp_path / "z" / "ImageNet-Sketch.zip", data["sketch folders"], "sketch", "-P", "secret")
    _eval_fails("imagenet-sketch", tmp_path / "z", tmp_path, "ImageNet-Sketch.zip is password-protected",
                "unzip -P PASSWORD ImageNet-Sketch.zip")


def test_a_truncated_zip(data, tmp_path):
    src = os.path.join(data["sketch zip"], "ImageNet-Sketch.zip")
    _copy_cut(src, tmp_path / "z" / "ImageNet-Sketch.zip", os.path.getsize(src) - 100)
    _eval_fails("imagenet-sketch", tmp_path / "z", tmp_path, "ImageNet-Sketch.zip is not a readable zip")


def test_an_archive_holding_two_suites_trees(data, tmp_path):
    bundle = tmp_path / "bundle"
    shutil.copytree(os.path.join(data["r folders"], "imagenet-r"), bundle / "imagenet-r")
    shutil.copytree(os.path.join(data["a folders"], "imagenet-a"), bundle / "imagenet-a")
    tar_of(tmp_path / "r" / "imagenet-r.tar", bundle, "imagenet-r", "imagenet-a")
    _eval_fails("imagenet-r", tmp_path / "r", tmp_path, "imagenet-r.tar holds the trees of more than one suite",
                "imagenet-a/ (imagenet-a)")


def test_an_archive_of_another_suite(data, tmp_path):
    tar_of(tmp_path / "r" / "imagenet-r.tar", data["a folders"], "imagenet-a")
    _eval_fails("imagenet-r", tmp_path / "r", tmp_path, "holds imagenet-a/ (imagenet-a)", "give it to imagenet-a")


def test_an_extracted_folder_beside_its_archive(data, tmp_path):
    root = tmp_path / "r"
    shutil.copytree(data["r folders"], root)
    shutil.copy(os.path.join(data["r tar"], "imagenet-r.tar"), root)
    _eval_fails("imagenet-r", root, tmp_path, "imagenet-r is both", "imagenet-r.tar", "keep one of them")


def test_a_corruption_both_in_a_tar_and_extracted(data, tmp_path):
    root = tmp_path / "c"
    shutil.copytree(data["c noise.tar"], root)
    shutil.copytree(os.path.join(data["c folders"], "gaussian_noise"), root / "gaussian_noise")
    _eval_fails("imagenet-c", root, tmp_path, "gaussian_noise is both", "noise.tar", extra=["--select", "noise"])


def test_a_gzipped_tar_under_the_release_name(data, tmp_path):
    tar_of(tmp_path / "r" / "imagenet-r.tar", data["r folders"], "imagenet-r", gzip=True)
    _eval_fails("imagenet-r", tmp_path / "r", tmp_path, "imagenet-r.tar is not a readable uncompressed tar")


# --- the paper's suites from the downloads, as they come -------------------------------------------
@pytest.fixture(scope="module")
def paper_data(tmp_path_factory):
    """D/ with each suite's downloads as they come, and E/ with the same images extracted."""
    from robench.metrics import imagenet_c

    base = tmp_path_factory.mktemp("paper")
    downloads, extracted = base / "D", base / "E"
    plan = val_plan(list(subset_indices("imagenet_r"))[:3] + [0, 999], per_class=2)
    flat = str(base / "val-flat")
    names = write_val(flat, str(extracted / "imagenet" / "val"), plan)
    write_devkit(flat, plan)
    tar_of(downloads / "imagenet" / "ILSVRC2012_img_val.tar", flat, *names)
    tar_of(downloads / "imagenet" / "ILSVRC2012_devkit_t12.tar.gz", flat, "ILSVRC2012_devkit_t12", gzip=True)
    every = list(imagenet_c.benchmark_corruptions()) + list(imagenet_c.extra_corruptions())
    assert sorted(every) == sorted(c for members in GROUP_TARS.values() for c in members)
    imagenet_c_folders(str(extracted / "imagenet-c"), every, [10, 600])
    assert len(imagenet_c_tars(str(extracted / "imagenet-c"), str(downloads / "imagenet-c"))) == 5
    class_folders(str(extracted / "imagenet-r" / "imagenet-r"), wrong_every(R_LABELS, 1, 3), ext=".jpg")
    tar_of(downloads / "imagenet-r" / "imagenet-r.tar", extracted / "imagenet-r", "imagenet-r")
    class_folders(str(extracted / "imagenet-sketch" / "sketch"), wrong_every([111, 222, 333], 1, 2))
    zip_of(downloads / "imagenet-sketch" / "ImageNet-Sketch.zip", extracted / "imagenet-sketch", "sketch")
    stylized = get_suite("stylized-imagenet")  # no hosted copy: users generate it, so it is a folder in both
    stylized.write_generated(str(extracted / "stylized-imagenet"), labels=[0, 500], per_class=1, size=224)
    shutil.copytree(extracted / "stylized-imagenet", downloads / "stylized-imagenet")
    return {"D": downloads, "E": extracted}


def test_the_paper_from_the_downloads_as_they_come(paper_data, tmp_path):
    def paper(data_dir, out):
        result = cli("eval", "-m", "robench.models.oracle:colour_oracle", "-s", "paper", "--data-dir", data_dir,
                     "-o", out, "-j", "0", "-b", "8", "--no-progress")
        assert result.exit_code == 0, result.output
        folder = os.path.join(out, "colour_oracle")
        return {name[:-5]: load(os.path.join(folder, name)) for name in sorted(os.listdir(folder))
                if name.endswith(".json")}

    got, want = paper(paper_data["D"], tmp_path / "d"), paper(paper_data["E"], tmp_path / "e")
    assert sorted(got) == ["imagenet", "imagenet-c", "imagenet-r", "imagenet-sketch", "imagenet-val-r200",
                           "stylized-imagenet"]
    for suite in got:
        assert values(got[suite]) == values(want[suite]), suite
    assert len(got["imagenet-c"]["variants"]) == 95 and got["imagenet-c"]["aggregates"]["mce"] is not None
    assert got["imagenet"]["suite"]["data_format"]["files"] == ["ILSVRC2012_img_val.tar"]
    assert got["imagenet-c"]["suite"]["data_format"]["files"] == ["blur.tar", "digital.tar", "extra.tar",
                                                                  "noise.tar", "weather.tar"]
    assert got["imagenet-sketch"]["suite"]["data_format"]["format"] == "zip"


# --- several processes: torchrun, job-array tasks + merge, kill -9 + rerun ---------------------------
def _args(suite, root, out, *extra):
    """Two DataLoader workers: each forks and opens the archive itself."""
    return [str(a) for a in ("eval", "-m", "robench.models.oracle:colour_oracle", "-s", suite, "-r", root, "-o", out,
                             "-j", "2", "-b", "2", "--no-progress", *extra)]


def _one_process(suite, root, out, *extra):
    result = cli(*_args(suite, root, out, *extra))
    assert result.exit_code == 0, result.output
    return load(os.path.join(out, "colour_oracle", f"{suite}.json"))


@pytest.mark.multiprocess
def test_torchrun_world_2_reads_the_tars(data, tmp_path):
    one = _one_process("imagenet-c", data["c tars"], tmp_path / "one", "--select", SELECT)
    run(_args("imagenet-c", data["c tars"], tmp_path / "two", "--select", SELECT), nproc=2)
    two = load(tmp_path / "two" / "colour_oracle" / "imagenet-c.json")
    assert two["run"]["world_size"] == 2
    assert comparable(two, tmp_path / "two") == comparable(one, tmp_path / "one")


@pytest.mark.multiprocess
def test_tasks_and_merge_read_the_zip(data, references, tmp_path):
    out = tmp_path / "tasks"
    for i in range(2):
        run(_args("imagenet-sketch", data["sketch zip"], out, "--task", f"{i}/2"))
    result = cli("merge", out)
    assert result.exit_code == 0, result.output
    merged = load(out / "colour_oracle" / "imagenet-sketch.json")
    one = _one_process("imagenet-sketch", data["sketch zip"], tmp_path / "one")
    assert comparable(merged, out) == comparable(one, tmp_path / "one")
    assert values(merged) == values(references["imagenet-sketch"])


@pytest.mark.multiprocess
def test_kill_9_and_rerun_over_the_tars(data, tmp_path):
    out = tmp_path / "out"
    args = ["eval", "-m", SLOW_ORACLE, "-s", "imagenet-c", "-r", data["c tars"], "-o", out, "-j", "1", "-b", "1",
            "--no-progress", "--select", SELECT, "--progress-every", "1"]
    proc = subprocess.Popen(robench_cmd([str(a) for a in args]), env=env(SLOW_ORACLE_DELAY=0.05),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    slices = out / "slow_oracle" / ".slices" / "imagenet-c"
    assert kill_when(proc, lambda: len(glob.glob(str(slices / "*.json"))) >= 3), proc.stderr.read().decode()[-2000:]
    assert not os.path.exists(out / "slow_oracle" / "imagenet-c.json")
    run([str(a) for a in args])
    rerun = load(out / "slow_oracle" / "imagenet-c.json")
    once = tmp_path / "once"
    run([str(a) for a in args[:args.index("-o") + 1]] + [str(once)] + [str(a) for a in args[args.index("-o") + 2:]])
    assert comparable(rerun, out) == comparable(load(once / "slow_oracle" / "imagenet-c.json"), once)
