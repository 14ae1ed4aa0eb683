"""ImageNet-3DCC and ImageNet-C-bar: suites on the corruption base, tested on generated stand-ins in their
real layouts (3DCC: ``<corruption>/<severity>/<wnid>/``; C-bar: severity folders named by the parameter
of imagenet_c_bar.csv, ``caustic_refraction/2.35/<wnid>/``). Unnormalised metrics as published (mean top-1
error over the cells), the collection ``extended``, the leaderboard's columns and detail tables."""
import os
import shutil

import pytest

from engine_support import ORACLE, in_process, load
from robench.datasets import get_suite
from robench.errors import DatasetLayoutError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
THREEDCC = ("near_focus", "far_focus", "xy_motion_blur", "z_motion_blur", "flash", "h265_crf", "h265_abr",
            "bit_error", "fog_3d", "iso_noise", "color_quant", "low_light")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    base = tmp_path_factory.mktemp("extended")
    written = {name: get_suite(name).write_generated(str(base / name), n_classes=2, per_class=1, size=32)
               for name in ("imagenet-3dcc", "imagenet-c-bar")}
    from robench.datasets.imagenet import write_imagenet

    write_imagenet(str(base / "imagenet"), n_classes=2, per_class=1, size=32)
    get_suite("objectnet").write_generated(str(base / "objectnet"), n_classes=2, per_class=2, size=32)  # extended's
    return base, written


@pytest.fixture(scope="module")
def records(data, tmp_path_factory):
    base, _ = data
    out = tmp_path_factory.mktemp("records")
    in_process(["eval", "-m", ORACLE, "-s", "extended", "--data-dir", str(base), "-o", str(out), "-j", "0", "-b", "8",
                "--no-progress"])
    return out, {s: load(out / "colour_oracle" / f"{s}.json") for s in ("imagenet", "imagenet-3dcc", "imagenet-c-bar", "objectnet")}


def test_layouts_are_the_released_ones(data):
    base, written = data
    assert written == {"imagenet-3dcc": 2 * 60, "imagenet-c-bar": 2 * 50}
    assert sorted(os.listdir(base / "imagenet-3dcc" / "fog_3d")) == ["1", "2", "3", "4", "5"]
    assert sorted(os.listdir(base / "imagenet-c-bar" / "caustic_refraction")) == ["2.35", "3.20", "4.90", "6.60", "9.15"]
    assert sorted(os.listdir(base / "imagenet-c-bar" / "plasma_noise")) == ["10.00", "4.75", "7.00", "8.50", "9.25"]
    cells = get_suite("imagenet-c-bar").variants(base / "imagenet-c-bar", ["plasma_noise/2"])
    assert [(v.name, v.info["parameter"], len(v)) for v in cells] == [("imagenet-c-bar/plasma_noise/2", 7.0, 2)]
    variants = get_suite("imagenet-3dcc").variants(base / "imagenet-3dcc")
    assert [v.info["corruption"] for v in variants[::5]] == list(THREEDCC) and len(variants) == 60
    assert {v.info["group"] for v in variants} == {"depth_of_field", "camera_motion", "lighting", "video", "weather",
                                                   "noise"}
    assert len(get_suite("imagenet-3dcc").variants(base / "imagenet-3dcc", ["video/5"])) == 3


def test_a_missing_cell_names_its_folder(data, tmp_path):
    base, _ = data
    copy = tmp_path / "c-bar"
    shutil.copytree(base / "imagenet-c-bar", copy)
    shutil.rmtree(copy / "sparkles" / "5.00")
    with pytest.raises(DatasetLayoutError, match=r"1 cell\(s\) missing \(sparkles/4\)"):
        get_suite("imagenet-c-bar").variants(copy)
    assert len(get_suite("imagenet-c-bar").variants(copy, ["sparkles/1"])) == 1


def test_records_give_the_published_unnormalised_metrics(records):
    _, by_suite = records
    for name, cells in (("imagenet-3dcc", 60), ("imagenet-c-bar", 50)):
        record = by_suite[name]
        errors = [v["metrics"]["error"] for v in record["variants"]]
        agg = record["aggregates"]
        assert len(errors) == cells and record["suite"]["data_origin"] == "generated"
        assert agg["mean_error"] == pytest.approx(sum(errors) / cells)
        assert "mce" not in agg and "ce" not in agg  # no published baseline: no CE
        assert errors[0] <= errors[4]  # the stand-in's error grows with severity
        assert set(agg["corruption_error"]) == set(get_suite(name).corruption_set.all)
    bar = by_suite["imagenet-c-bar"]
    assert bar["variants"][0]["parameter"] == 0.8 and bar["variants"][0]["name"] == "imagenet-c-bar/blue_noise_sample/1"


def test_the_leaderboard_shows_their_columns_and_tables(records, tmp_path):
    from robench.leaderboard import generate

    out, by_suite = records
    board = generate(str(out), os.path.join(REPO, "tests", "data", "leaderboard", "reported.csv"),
                     str(tmp_path / "board" / "README.md"))
    text = board.markdown
    assert "ImageNet-3DCC mean error" in text and "ImageNet-C-bar mean error" in text
    assert "ImageNet-3DCC by corruption" in text and "ImageNet-C-bar by corruption" in text
    assert f"{by_suite['imagenet-c-bar']['aggregates']['mean_error']:.1f}" in text
    assert "ObjectNet ↑" in text and "ObjectNet (1000-way) ↑" in text  # the third suite of extended
    objectnet = by_suite["objectnet"]["variants"][0]["metrics"]
    assert f"{objectnet['top1']:.1f}" in text
    assert board.problems == []
