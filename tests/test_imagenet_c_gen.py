"""imagenet-c-gen: ImageNet-C made on the fly from a (generated) ImageNet val inside the Source's
iter_range. The pixels are ImageNet-C's recipe (Resize 256 + CenterCrop 224, the corruption, JPEG q85 as
released) with one seed per (image, corruption, severity), so they do not depend on how the data is sliced;
`robench data corrupt` writes the same pixels as ImageNet-C folders, and both give the same metrics;
torchrun worlds and job-array tasks give the one-process record; the leaderboard keeps these records
in a section of their own."""
import hashlib
import io
import json
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from engine_support import ORACLE, comparable, in_process, load, run
from robench.datasets import get_suite
from robench.datasets.colour_code import make_image
from robench.datasets.imagenet import write_imagenet
from robench.datasets.corruptions import corrupt_array, generator, libraries
from robench.errors import DatasetLayoutError, RobenchError

SELECT = "gaussian_noise,brightness,impulse_noise/2"  # 11 cells (impulse noise: a corruption that takes a seed)
N_CELLS = 11
SUITE = "imagenet-c-gen"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = "imagenet-c-gen/2"


def release_jpeg(pixels):
    """make_imagenet_c.py's save, written out: Image.fromarray(np.uint8(img)).save(path, quality=85, optimize=True)."""
    buffer = io.BytesIO()
    Image.fromarray(np.uint8(pixels)).save(buffer, "JPEG", quality=85, optimize=True)
    return buffer.getvalue()


def eval_args(suite, root, out, *extra, select=SELECT, workers=0):
    chosen = ["--select", select] if select else []
    return ["eval", "-m", ORACLE, "-s", suite, "-r", str(root), "-o", str(out), *chosen, "-j", str(workers),
            "-b", "2", "--no-progress", *extra]


def pixels(data):
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"))


@pytest.fixture(scope="module")
def val(tmp_path_factory):
    """A generated ImageNet val: 3 classes x 1 image of 64 px (resized to 256 and cropped like ImageNet's)."""
    root = tmp_path_factory.mktemp("val")
    write_imagenet(str(root), n_classes=3, per_class=1, size=64)
    return root


@pytest.fixture(scope="module")
def single(val, tmp_path_factory):
    """The one-process record of SELECT."""
    out = tmp_path_factory.mktemp("single")
    in_process(eval_args(SUITE, val, out))
    return load(out / "colour_oracle" / f"{SUITE}.json")


@pytest.fixture(scope="module")
def materialised(val, tmp_path_factory):
    out = tmp_path_factory.mktemp("corrupt") / "imagenet-c"
    result = in_process(["data", "corrupt", str(val), str(out), "--select", SELECT, "-j", "0", "--no-progress"])
    assert f"wrote {3 * N_CELLS} images (0 already there)" in result.output
    return out


def test_pixels_are_the_recipe_and_independent_of_the_slice(val):
    from torchvision import transforms as trn

    cells = get_suite(SUITE).variants(val, ["gaussian_noise/3", "glass_blur/1"])
    assert [v.name for v in cells] == [f"{SUITE}/gaussian_noise/3", f"{SUITE}/glass_blur/1"]
    for variant in cells:
        source, corruption, severity = variant.source, variant.info["corruption"], variant.info["severity"]
        np.random.seed(123)
        expected_draw = np.random.random()
        np.random.seed(123)
        whole = list(source.iter_range(0, 3))
        assert np.random.random() == expected_draw  # the caller's np.random state is left alone
        assert list(source.iter_range(0, 3)) == whole  # the same bytes twice
        assert list(source.iter_range(1, 2)) == whole[1:2]  # and whatever the slice
        assert source.read(2) == whole[2]
        for key, data, label in whole:
            assert data[:2] == b"\xff\xd8"  # JPEG, as the release saved it
            # ImageNet-C's recipe, written out: make_imagenet_c.py's transform, then the seeded corruption
            with Image.open(source.locate(key)) as img:
                clean = np.asarray(trn.Compose([trn.Resize(256), trn.CenterCrop(224)])(img.convert("RGB")))
            np.random.seed(int.from_bytes(hashlib.sha256(f"{key}|{corruption}|{severity}".encode()).digest()[:4],
                                          "little"))
            want = corrupt_array(clean, corruption, severity)
            assert want.shape == (224, 224, 3) and data == release_jpeg(want)
        assert len({data for _, data, _ in whole}) == 3  # each image has its own seed


def test_layout_select_and_fingerprint(val, tmp_path):
    suite = get_suite(SUITE)
    variants = suite.variants(val)
    assert len(variants) == 95  # the 15 x 5 benchmark cells, then the 4 extra corruptions
    assert variants[0].name == f"{SUITE}/gaussian_noise/1" and variants[74].name == f"{SUITE}/jpeg_compression/5"
    assert variants[75].info == {"corruption": "speckle_noise", "severity": 1, "group": "extra",
                                 "generator": generator(), "recipe": RECIPE, "libraries": libraries(),
                                 "encoding": "jpeg"}
    assert {"numpy", "scipy", "scikit-image", "numba", "Pillow", "Wand", "ImageMagick", "imagecorruptions-imaug",
            "torchvision"} <= set(libraries()) and any(k.startswith("opencv") for k in libraries())
    assert all(v.data_origin == "generated" and v.resize is False and v.stored_size == 224
               and v.n_official == 50_000 and len(v) == 3 for v in variants)
    got = [v.name.split("/", 1)[1] for v in suite.variants(val / "val", ["weather/5", "spatter/2"])]  # val itself
    assert got == ["snow/5", "frost/5", "fog/5", "brightness/5", "spatter/2"]
    assert len(suite.variants(val, ["benchmark"])) == 75 and len(suite.variants(val, ["3"])) == 19
    with pytest.raises(RobenchError, match="Did you mean fog"):
        suite.variants(val, ["fgo"])
    with pytest.raises(RobenchError, match="severity must be 1..5"):
        suite.variants(val, ["fog/6"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetLayoutError) as info:
        suite.variants(tmp_path / "empty")
    assert str(tmp_path / "empty") in str(info.value) and "expected val/<wnid>/*.JPEG" in str(info.value)

    # the fingerprint follows the val files, the cell and the generator
    copy = tmp_path / "copy"
    shutil.copytree(val, copy)

    def fingerprints(root):
        return [v.source.fingerprint() for v in suite.variants(root, ["fog/3", "fog/4"])]

    before = fingerprints(copy)
    assert before == fingerprints(val) and before[0] != before[1]
    one = next((copy / "val").rglob("*.JPEG"))
    make_image(7, np.random.default_rng(1), 80, 70).save(one)  # same name, other pixels
    changed = fingerprints(copy)
    assert changed[0] != before[0]
    os.rename(one, one.with_name("renamed.JPEG"))
    assert fingerprints(copy)[0] not in (before[0], changed[0])
    (cell,) = suite.variants(val, ["fog/3"])
    cell.source.generator = "imagecorruptions-imaug 0.0.0"
    assert cell.source.fingerprint() != before[0]
    (cell,) = suite.variants(val, ["fog/3"])
    cell.source.libraries = cell.source.libraries.replace("numpy ", "numpy 0.")  # another numpy: other pixels
    assert cell.source.fingerprint() != before[0]
    (lossless,) = suite.variants(val, ["fog/3", "lossless"])
    assert lossless.info["encoding"] == "lossless" and lossless.source.fingerprint() != before[0]


def test_eval_records_cells_aggregates_and_generated_origin(single):
    from robench.leaderboard import protocol_key

    variants, agg = single["variants"], single["aggregates"]
    assert [v["name"] for v in variants] == ([f"{SUITE}/gaussian_noise/{s}" for s in range(1, 6)]
                                             + [f"{SUITE}/impulse_noise/2"]  # in ImageNet-C's order
                                             + [f"{SUITE}/brightness/{s}" for s in range(1, 6)])
    assert all(v["n_seen"] == 3 and v["generator"] == generator() and v["recipe"] == RECIPE
               and v["libraries"] == libraries() and v["encoding"] == "jpeg" for v in variants)
    assert single["suite"]["data_origin"] == "generated" and single["suite"]["stored_size"] == 224
    assert set(agg["corruption_error"]) == {"gaussian_noise", "brightness"}  # impulse noise: one severity only
    noise = [v["metrics"]["error"] for v in variants[:5]]
    assert agg["corruption_error"]["gaussian_noise"] == pytest.approx(sum(noise) / 5)
    assert agg["mce"] is None and any("need all 15" in n for n in agg["notes"])
    assert agg["generation"]["generator"] == generator() and "sha256" in agg["generation"]["seed_rule"]
    assert agg["generation"]["libraries"] == libraries() and "quality=85" in agg["generation"]["encoding"]
    assert agg["preprocessing"]["stored_size"] == 224
    key = dict(protocol_key(single))
    assert key["origin"] == f"generated on the fly from ImageNet val by {generator()}" and key["data"] == "subset"
    assert "encoding" not in key  # JPEG q85 is the release's encoding: no departure


def test_data_corrupt_writes_the_same_pixels_and_metrics(val, single, materialised, tmp_path):
    marker = json.loads((materialised / "robench-generated.json").read_text())
    assert marker["size"] == 224 and generator() in marker["generator"] and marker["recipe"] == RECIPE
    assert marker["libraries"] == libraries() and marker["encoding"] == "jpeg"
    (cell,) = get_suite(SUITE).variants(val, ["brightness/4"])
    for key, data, _ in cell.source.iter_range(0, 3):
        jpeg = materialised / "brightness" / "4" / (os.path.splitext(key)[0] + ".JPEG")
        assert jpeg.read_bytes() == data  # the same JPEG bytes as on the fly

    out = tmp_path / "out"
    in_process(eval_args("imagenet-c", materialised, out))
    released_layout = load(out / "colour_oracle" / "imagenet-c.json")
    assert released_layout["suite"]["data_origin"] == "generated" and released_layout["suite"]["stored_size"] == 224
    for got, want in zip(released_layout["variants"], single["variants"]):
        assert got["name"].split("/", 1)[1] == want["name"].split("/", 1)[1]
        assert (got["n_seen"], got["metrics"], got["state"]) == (want["n_seen"], want["metrics"], want["state"])
    numbers = ("ce", "corruption_error", "group_mean_error", "mean_error", "mce", "extra_corruption_error")
    assert ({k: released_layout["aggregates"].get(k) for k in numbers}
            == {k: single["aggregates"].get(k) for k in numbers})

    # resumable: whole files are kept, a missing one is written, a killed run's temporary is removed
    copy = tmp_path / "resume"
    shutil.copytree(materialised, copy)
    lost = copy / "gaussian_noise" / "2" / os.path.relpath(next((val / "val").rglob("*.JPEG")), val / "val")
    lost = lost.with_suffix(".JPEG")
    lost.unlink()
    (lost.parent / ".tmp-killed.JPEG").write_bytes(b"half a jpeg")
    result = in_process(["data", "corrupt", str(val), str(copy), "--select", SELECT, "-j", "0", "--no-progress"])
    assert f"wrote 1 images ({3 * N_CELLS - 1} already there)" in result.output
    assert lost.read_bytes() == (materialised / lost.relative_to(copy)).read_bytes()
    assert not (lost.parent / ".tmp-killed.JPEG").exists()

    # a folder made by another generator is not mixed with this one
    marker["corruption_generator"] = "imagecorruptions-imaug 0.0.0"
    (copy / "robench-generated.json").write_text(json.dumps(marker))
    from click.testing import CliRunner
    from robench.cli import cli

    refused = CliRunner().invoke(cli, ["data", "corrupt", str(val), str(copy), "--select", "fog/1", "--no-progress"])
    assert refused.exit_code != 0 and "would mix two data sets" in refused.output


def test_lossless_is_an_option_recorded_as_a_departure(val, tmp_path):
    """--select lossless (eval) and --lossless (data corrupt): the pixels before the JPEG step, in a section
    of their own; a lossless folder is never resumed as a JPEG one."""
    from robench.leaderboard import protocol_key

    (cell,) = get_suite(SUITE).variants(val, ["impulse_noise/2", "lossless"])
    (jpeg_cell,) = get_suite(SUITE).variants(val, ["impulse_noise/2"])
    for (key, data, _), (_, jpeg, _) in zip(cell.source.iter_range(0, 3), jpeg_cell.source.iter_range(0, 3)):
        assert data[:2] == b"BM" and release_jpeg(pixels(data)) == jpeg  # the same pixels, before the JPEG step
    out = tmp_path / "records"
    in_process(eval_args(SUITE, val, out, select="impulse_noise/2,lossless"))
    record = load(out / "colour_oracle" / f"{SUITE}.json")
    assert [v["encoding"] for v in record["variants"]] == ["lossless"]
    assert "lossless" in dict(protocol_key(record))["encoding"]
    assert "lossless" in record["aggregates"]["generation"]["encoding"]

    folder = tmp_path / "png"
    result = in_process(["data", "corrupt", str(val), str(folder), "--select", "impulse_noise/2", "--lossless",
                         "-j", "0", "--no-progress"])
    assert "wrote 3 images" in result.output
    for key, data, _ in cell.source.iter_range(0, 3):
        png = folder / "impulse_noise" / "2" / (os.path.splitext(key)[0] + ".png")
        assert np.array_equal(pixels(png.read_bytes()), pixels(data))
    from click.testing import CliRunner
    from robench.cli import cli

    refused = CliRunner().invoke(cli, ["data", "corrupt", str(val), str(folder), "--select", "impulse_noise/2",
                                       "--no-progress"])
    assert refused.exit_code != 0 and "encoding 'lossless'" in refused.output


def test_benchmark_cells_give_mce_and_a_generated_section(tmp_path):
    """All 15 x 5 cells of one image: mCE, mean error, relative mCE joined with the clean record, and the
    leaderboard section of these records."""
    from robench.joins import index_records, joined_values
    from robench.leaderboard import generate
    from robench.metrics import imagenet_c as C

    root = tmp_path / "one"
    write_imagenet(str(root), n_classes=1, per_class=1, size=64)
    entries = tmp_path / "entries"
    in_process(eval_args("imagenet", root, entries, select=None))
    in_process(eval_args(SUITE, root, entries, select="benchmark"))
    record, clean = (load(entries / "colour_oracle" / f"{s}.json") for s in (SUITE, "imagenet"))
    assert len(record["variants"]) == 75
    errors = {}
    for v in record["variants"]:
        errors.setdefault(v["corruption"], []).append(v["metrics"]["error"] / 100)
    agg = record["aggregates"]
    assert agg["mce"] == pytest.approx(C.mce(errors)) and agg["mean_error"] == pytest.approx(
        sum(v["metrics"]["error"] for v in record["variants"]) / 75)
    joined = joined_values(record, index_records([record, clean]))
    assert joined["relative_mce"] == pytest.approx(C.relative_mce(errors, 0.0))

    board = generate(str(entries), os.path.join(REPO, "tests", "data", "leaderboard", "reported.csv"),
                     str(tmp_path / "board" / "README.md"))
    titles = [line for line in board.markdown.splitlines() if line.startswith("## ")]
    mine = [t for t in titles if f"data origin 'generated on the fly from ImageNet val by {generator()}'" in t]
    assert len(mine) == 1, titles  # (with the oracle's other departures: 64 px input, one image per cell)
    assert not any("data generated by robench" in t for t in mine)
    section = board.markdown.split(mine[0], 1)[1].split("\n## ", 1)[0]
    assert f"{agg['mean_error']:.1f}" in section and f"{joined['relative_mce']:.1f}" in section
    assert "ImageNet-C by corruption" in section
    assert board.problems == []


@pytest.mark.multiprocess
def test_torchrun_tasks_and_processes_equal_one_process(val, single, materialised, tmp_path):
    # a torchrun world of 2
    world = tmp_path / "world"
    run(eval_args(SUITE, val, world), nproc=2)
    record = load(world / "colour_oracle" / f"{SUITE}.json")
    assert record["run"]["world_size"] == 2 and comparable(record) == comparable(single)
    # a job array of two tasks, merged; one of them corrupts in a DataLoader worker process
    tasks = tmp_path / "tasks"
    for i in range(2):
        in_process(eval_args(SUITE, val, tasks, "--task", f"{i}/2", workers=i))
    in_process(["merge", str(tasks)])
    assert comparable(load(tasks / "colour_oracle" / f"{SUITE}.json")) == comparable(single)
    # robench data corrupt in 2 processes writes the same files as in this one
    out = tmp_path / "corrupt"
    in_process(["data", "corrupt", str(val), str(out), "--select", SELECT, "-j", "2", "--no-progress"])
    files = sorted(p.relative_to(materialised) for p in materialised.rglob("*.JPEG"))
    assert len(files) == 3 * N_CELLS and files == sorted(p.relative_to(out) for p in out.rglob("*.JPEG"))
    assert all((out / f).read_bytes() == (materialised / f).read_bytes() for f in files)


def test_data_check_and_records_name_the_pixel_libraries(val, materialised, tmp_path):
    import numpy

    shown = in_process(["data", "check", SUITE, str(val), "--select", "fog/1"]).output
    assert f"libraries: numpy {numpy.__version__}" in shown and "ImageMagick" in shown and "quality=85" in shown
    shown = in_process(["data", "check", "imagenet-c", str(materialised), "--select", SELECT]).output
    assert f"pixels made with: numpy {numpy.__version__}" in shown and "installed now differs" not in shown
    (cell,) = get_suite("imagenet-c").variants(materialised, ["brightness/4"])
    assert cell.info["libraries"] == libraries() and "encoding" not in cell.info  # JPEG: as released

    copy = tmp_path / "older"
    shutil.copytree(materialised, copy)
    marker = json.loads((copy / "robench-generated.json").read_text())
    marker["libraries"]["numpy"] = "1.26.4"  # made with another numpy
    (copy / "robench-generated.json").write_text(json.dumps(marker))
    shown = in_process(["data", "check", "imagenet-c", str(copy), "--select", SELECT]).output
    assert f"installed now differs (numpy 1.26.4 -> {numpy.__version__})" in shown
