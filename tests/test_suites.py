"""Every benchmark suite on generated data in its real layout: sizes, 1k labels from wnids (or
V2's class-index folders), layout errors that say what is wrong, 200-class scoring, the
ImageNet-C protocol end to end, and `robench data check`."""
import json
import os
import shutil

import pytest
from click.testing import CliRunner
from PIL import Image

from robench.cli import cli
from robench.datasets import get_suite, suite_names
from robench.datasets.suite import Suite
from robench.datasets import get_suite
from robench.datasets.imagenet import write_imagenet
from robench.datasets.imagenet_c import write_imagenet_c
from robench.engine import EvalOptions, evaluate_suite
from robench.errors import DatasetLayoutError, RobenchError
from robench.labels import imagenet_wnids, subset_indices
from robench.models.oracle import ColourOracle
from robench.results import read_record

from engine_support import ORACLE

FAST = EvalOptions(batch_size=32, workers=0, progress=False)
WNIDS = imagenet_wnids()


def prefers_tench():
    """A model that is right about the class but always puts its maximum on tench (class 0),
    which is in neither ImageNet-R's nor ImageNet-A's 200 classes."""

    class PrefersTench(ColourOracle):
        def forward(self, x):
            logits = super().forward(x)
            logits[:, 0] = 20.0
            return logits

    return PrefersTench()


def _labels(variant):
    return {key: label for key, _, label in variant.source.iter_range(0, len(variant))}


def _eval(suite, root, out, model=ORACLE, select=None):
    (path,) = evaluate_suite([model], suite, root, out, select=select, options=FAST)
    return read_record(path)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("suites")
    get_suite("stylized-imagenet").write_generated(str(root / "stylized"), labels=[0, 999, 500], per_class=2, size=40)
    get_suite("imagenet-r").write_generated(str(root / "r"), labels=[1, 2, 988], per_class=2, size=40)
    get_suite("imagenet-a").write_generated(str(root / "a"), labels=[6, 11, 988], per_class=2, size=40)
    get_suite("imagenet-sketch").write_generated(str(root / "sketch"), n_classes=3, per_class=2, size=40)
    get_suite("imagenet-v2").write_generated(str(root / "v2"), labels=[2, 10, 100, 999], per_class=2, size=32)
    get_suite("imagenet-val-r200").write_generated(str(root / "val_r"), labels=[1, 2, 988], per_class=2, size=40)
    write_imagenet_c(str(root / "c"), labels=[0, 999], per_class=1, size=32, seed=0)
    write_imagenet(str(root / "clean"), n_classes=2, per_class=1, size=32)
    return root


def test_every_suite_is_registered_and_listed():
    assert set(suite_names()) >= {"imagenet", "imagenet-c", "stylized-imagenet", "imagenet-r", "imagenet-a",
                                  "imagenet-sketch", "imagenet-v2", "imagenet-val-r200", "imagenet-val-a200"}
    for name in suite_names():  # every layout can be generated
        assert type(get_suite(name)).write_generated is not Suite.write_generated, name
    result = CliRunner().invoke(cli, ["list", "suites"])
    assert result.exit_code == 0, result.output
    assert "imagenet-v2" in result.output and "<corruption>/<severity 1-5>/<wnid>/*.JPEG" in result.output


def test_stylized_labels_and_no_resize(data, tmp_path):
    (variant,) = get_suite("stylized-imagenet").variants(data / "stylized")
    labels = _labels(variant)
    assert len(variant) == 6 and variant.n_official == 50_000 and variant.resize is False
    assert labels["n01440764/ILSVRC2012_val_00000000.png"] == 0
    assert labels["n15075141/ILSVRC2012_val_09990001.png"] == 999
    record = _eval("stylized-imagenet", data / "stylized", tmp_path)
    assert record["variants"][0]["metrics"]["top1"] == 100.0
    pre = record["aggregates"]["preprocessing"]
    assert pre["resized"] is True and pre["model_input_size"] == [64, 64]  # the oracle is a 64px model
    assert "resized" in pre["note"]


def test_imagenet_r_labels_masking_and_clean_twin(data, tmp_path):
    (variant,) = get_suite("imagenet-r").variants(data / "r")
    labels = _labels(variant)
    assert len(variant) == 6 and variant.n_official == 30_000
    assert labels["n01443537/art_0.jpg"] == 1  # goldfish
    assert labels["n12267677/cartoon_1.jpg"] == 988  # acorn
    # the subset suite first: its record no longer reads the output directory for its clean twin
    record = _eval("imagenet-r", data / "r", tmp_path, model="test_suites:prefers_tench")
    assert record["variants"][0]["metrics"]["top1"] == 100.0  # argmax over the 200 only
    assert "clean_subset_top1" not in record["aggregates"]
    # 1000-way, the same model is always wrong on the same kind of images
    full = _eval("imagenet", data / "val_r", tmp_path, model="test_suites:prefers_tench")
    assert full["variants"][0]["metrics"]["top1"] == 0.0
    twin = _eval("imagenet-val-r200", data / "val_r", tmp_path, model="test_suites:prefers_tench")
    assert twin["variants"][0]["metrics"]["top1"] == 100.0
    assert twin["variants"][0]["n_seen"] == 6 and twin["variants"][0]["n_official"] == 10_000
    # clean_subset_top1 is joined when the records are read together, whichever was made first
    from robench.joins import index_records, joined_values

    assert joined_values(record, index_records([record, full, twin])) == {"clean_subset_top1": 100.0}
    assert joined_values(record, index_records([record, full])) == {"clean_subset_top1": None}


def test_imagenet_a_labels_and_masking(data, tmp_path):
    (variant,) = get_suite("imagenet-a").variants(data / "a" / "imagenet-a")  # the data folder itself
    labels = _labels(variant)
    assert len(variant) == 6 and variant.n_official == 7_500
    assert sorted(set(labels.values())) == [6, 11, 988]
    assert labels["n01498041/0.000006_stingray _ stingray_0.000000.jpg"] == 6
    assert get_suite("imagenet-a").label_subset == "imagenet_a"
    record = _eval("imagenet-a", data / "a", tmp_path, model="test_suites:prefers_tench")
    assert record["variants"][0]["metrics"]["top1"] == 100.0


def test_subset_suites_reject_classes_outside_their_200(data, tmp_path):
    root = tmp_path / "r"
    shutil.copytree(data / "r", root)
    shutil.copytree(root / "imagenet-r" / WNIDS[1], root / "imagenet-r" / WNIDS[0])  # tench: not in R
    with pytest.raises(DatasetLayoutError, match="n01440764 is not one of the 200 imagenet-r classes"):
        get_suite("imagenet-r").variants(root)
    assert 0 not in subset_indices("imagenet_a")
    with pytest.raises(DatasetLayoutError, match="not one of the 200 imagenet-a classes"):
        get_suite("imagenet-a").variants(root / "imagenet-r")


def test_sketch_real_grayscale_jpegs_are_read_as_rgb(data, tmp_path):
    (variant,) = get_suite("imagenet-sketch").variants(data / "sketch")
    assert len(variant) == 6 and variant.n_official == 50_889
    first = os.path.join(variant.source.directory, variant.source.entries[0][0])
    with Image.open(first) as img:
        assert img.format == "JPEG" and img.mode == "L"  # real one-channel JPEG files
    assert all(label % 111 == 0 for label in _labels(variant).values())  # gray-coded classes
    result = CliRunner().invoke(cli, ["eval", "-m", ORACLE, "-s", "imagenet-sketch", "-r", str(data / "sketch"),
                                      "-o", str(tmp_path), "-j", "0", "--no-progress"])
    assert result.exit_code == 0, result.output
    record = read_record(tmp_path / "colour_oracle" / "imagenet-sketch.json")
    assert record["variants"][0]["n_seen"] == 6 and record["variants"][0]["metrics"]["top1"] == 100.0


def test_v2_folder_name_is_the_class_index_not_its_text_order(data, tmp_path):
    variants = get_suite("imagenet-v2").variants(data / "v2")
    assert [v.name for v in variants] == ["imagenet-v2/matched-frequency", "imagenet-v2/threshold0.7",
                                          "imagenet-v2/top-images"]
    labels = _labels(variants[0])
    assert {key.split("/")[0]: label for key, label in labels.items()} == {"2": 2, "10": 10, "100": 100, "999": 999}
    assert all(v.n_official == 10_000 and len(v) == 8 for v in variants)
    # the variant folder itself, and --select
    (one,) = get_suite("imagenet-v2").variants(data / "v2" / "imagenetv2-top-images-format-val")
    assert one.name == "imagenet-v2/top-images"
    record = _eval("imagenet-v2", data / "v2", tmp_path, select=["threshold0.7"])
    assert [v["name"] for v in record["variants"]] == ["imagenet-v2/threshold0.7"]
    assert record["variants"][0]["metrics"]["top1"] == 100.0  # text-sorted labels would give 25%


def test_v2_layout_errors(data, tmp_path):
    shutil.copytree(data / "v2" / "imagenetv2-top-images-format-val", tmp_path / "mine")
    with pytest.raises(DatasetLayoutError, match="does not say which ImageNet-V2 variant"):
        get_suite("imagenet-v2").variants(tmp_path / "mine")
    os.rename(tmp_path / "mine", tmp_path / "imagenetv2-top-images-format-val")
    os.rename(tmp_path / "imagenetv2-top-images-format-val" / "10", tmp_path / "imagenetv2-top-images-format-val" / "010")
    with pytest.raises(DatasetLayoutError, match=r"class index 0\.\.999 \(found '010'\)"):
        get_suite("imagenet-v2").variants(tmp_path)
    with pytest.raises(DatasetLayoutError, match="no ImageNet-V2 variant folder"):
        get_suite("imagenet-v2").variants(data / "r")


def test_imagenet_c_layout_labels_and_order(data):
    variants = get_suite("imagenet-c").variants(data / "c")
    assert len(variants) == 95  # 15 x 5 benchmark cells, then the 4 extra corruptions present
    assert variants[0].name == "imagenet-c/gaussian_noise/1"
    assert variants[74].name == "imagenet-c/jpeg_compression/5"
    assert variants[75].info == {"corruption": "speckle_noise", "severity": 1, "group": "extra",
                                 "image_size": 32}
    assert variants[75].data_origin == "generated" and variants[75].stored_size == 32
    assert all(v.resize is False and v.n_official == 50_000 and len(v) == 2 for v in variants)
    labels = _labels(variants[10])
    assert labels == {"n01440764/ILSVRC2012_val_00000000.JPEG": 0, "n15075141/ILSVRC2012_val_09990000.JPEG": 999}


@pytest.mark.parametrize("select, names", [
    (["fog/3"], ["fog/3"]),
    (["fog"], ["fog/1", "fog/2", "fog/3", "fog/4", "fog/5"]),
    (["weather/5", "spatter/2"], ["snow/5", "frost/5", "fog/5", "brightness/5", "spatter/2"]),
    (["5"], None),  # severity 5 of all 15, plus the 4 extra present
    (["extra"], None),
])
def test_imagenet_c_select(data, select, names):
    variants = get_suite("imagenet-c").variants(data / "c", select)
    got = [v.name[len("imagenet-c/"):] for v in variants]
    if names is not None:
        assert got == names
    elif select == ["5"]:
        assert len(got) == 19 and all(n.endswith("/5") for n in got)
    else:
        assert len(got) == 20 and got[0] == "speckle_noise/1" and got[-1] == "saturate/5"


def test_imagenet_c_missing_cells_and_bad_select(data, tmp_path):
    root = tmp_path / "c"
    shutil.copytree(data / "c", root)
    shutil.rmtree(root / "fog" / "5")
    with pytest.raises(DatasetLayoutError, match=r"1 cell\(s\) missing \(fog/5\).*pass --select"):
        get_suite("imagenet-c").variants(root)
    assert len(get_suite("imagenet-c").variants(root, ["fog/4", "snow"])) == 6  # a subset was asked for
    with pytest.raises(DatasetLayoutError, match=r"missing \(fog/5\)"):
        get_suite("imagenet-c").variants(root, ["weather"])
    with pytest.raises(RobenchError, match="Did you mean fog"):
        get_suite("imagenet-c").variants(root, ["fgo"])
    with pytest.raises(RobenchError, match="severity must be 1..5"):
        get_suite("imagenet-c").variants(root, ["fog/6"])
    shutil.rmtree(root / "saturate" / "2")  # an extra corruption, once present, must be whole
    with pytest.raises(DatasetLayoutError, match=r"saturate/2"):
        get_suite("imagenet-c").variants(root, ["benchmark", "extra"])
    with pytest.raises(DatasetLayoutError, match="holds no ImageNet-C corruption folders"):
        get_suite("imagenet-c").variants(data / "r")
    os.makedirs(root / "frost" / "5" / "not_a_wnid")
    with pytest.raises(DatasetLayoutError, match="'not_a_wnid' is not an ImageNet-1k wnid"):
        get_suite("imagenet-c").variants(root, ["frost/5"])


def test_imagenet_c_end_to_end_aggregates(data, tmp_path):
    clean = _eval("imagenet", data / "clean", tmp_path)
    assert clean["variants"][0]["metrics"]["error"] == 0.0
    record = _eval("imagenet-c", data / "c", tmp_path)
    variants, agg = record["variants"], record["aggregates"]
    assert len(variants) == 95 and all(v["n_seen"] == 2 for v in variants)
    errors = {}
    for v in variants:
        assert v["metrics"]["top1"] in (0.0, 50.0, 100.0)
        errors.setdefault(v["corruption"], []).append(v["metrics"]["error"] / 100)
    from robench.metrics import imagenet_c as C

    assert agg["mce"] == pytest.approx(C.mce(errors), abs=1e-9)
    from robench.joins import index_records, joined_values

    joined = joined_values(record, index_records([record, clean]))
    assert joined["relative_mce"] == pytest.approx(C.relative_mce(errors, 0.0), abs=1e-9)
    assert agg["mean_error"] == pytest.approx(sum(v["metrics"]["error"] for v in variants[:75]) / 75, abs=1e-9)
    assert joined["clean_error"] == 0.0 and record["suite"]["data_origin"] == "generated"
    assert set(agg["group_mean_error"]) == {"noise", "blur", "weather", "digital"}
    assert set(agg["extra_corruption_error"]) == {"speckle_noise", "gaussian_blur", "spatter", "saturate"}
    assert agg["extra_mean_error"] == pytest.approx(sum(v["metrics"]["error"] for v in variants[75:]) / 20)
    assert 0 < agg["mean_error"] < 100  # corruptions do hurt the colour oracle, not everywhere
    assert agg["preprocessing"]["stored_size"] == 32 and agg["preprocessing"]["resized"] is True
    assert {"mce", "mean_error", "preprocessing"} <= set(agg["definitions"])


def test_imagenet_c_subset_leaves_mce_null(data, tmp_path):
    record = _eval("imagenet-c", data / "c", tmp_path, select=["fog", "contrast/2"])
    agg = record["aggregates"]
    assert [v["name"] for v in record["variants"]][-1] == "imagenet-c/contrast/2"
    assert agg["mce"] is None and agg["mean_error"] is None
    assert set(agg["ce"]) == {"fog"}
    assert any("need all 15 benchmark corruptions" in n for n in agg["notes"])


def test_data_check_table_and_exit_codes(data, tmp_path):
    runner = CliRunner()
    ok = runner.invoke(cli, ["data", "check", "imagenet-v2", str(data / "v2")])
    assert ok.exit_code == 0, ok.output
    assert "imagenet-v2/matched-frequency" in ok.output and "10000" in ok.output and "4/1000" in ok.output
    assert "3 of 3 variant(s) differ from the official sizes" in ok.output
    strict = runner.invoke(cli, ["data", "check", "imagenet-v2", str(data / "v2"), "--strict"])
    assert strict.exit_code == 1
    broken = runner.invoke(cli, ["data", "check", "imagenet-r", str(tmp_path / "nowhere")])
    assert broken.exit_code == 2
    assert broken.output.strip().splitlines()[-1].startswith("Error: ") and "nowhere" in broken.output
    assert "Traceback" not in broken.output


def test_synth_cli_writes_every_layout_deterministically(tmp_path):
    runner = CliRunner()
    for name in ("imagenet-v2", "imagenet-sketch"):
        for out in ("x", "y"):
            result = runner.invoke(cli, ["data", "synth", str(tmp_path / out / name), "--suite", name,
                                         "--classes", "2", "--per-class", "1", "--size", "32"])
            assert result.exit_code == 0, result.output
    files = sorted(os.path.relpath(os.path.join(d, f), tmp_path / "x") for d, _, fs in os.walk(tmp_path / "x") for f in fs)
    assert len(files) == 2 * 3 + 2 + 2  # images + each root's robench-generated.json
    for rel in files:
        assert (tmp_path / "x" / rel).read_bytes() == (tmp_path / "y" / rel).read_bytes()


def test_generated_imagenet_c_is_deterministic_and_marked(tmp_path):
    for out in ("x", "y"):
        n = write_imagenet_c(str(tmp_path / out), labels=[3], per_class=1, size=32, seed=5,
                                   corruptions=["glass_blur", "snow"], severities=(5,))
        assert n == 2
    for rel in ("glass_blur/5", "snow/5"):
        path = os.path.join(rel, WNIDS[3], "ILSVRC2012_val_00030000.JPEG")
        assert (tmp_path / "x" / path).read_bytes() == (tmp_path / "y" / path).read_bytes()
    marker = json.loads((tmp_path / "x" / "robench-generated.json").read_text())
    assert "imagecorruptions-imaug" in marker["generator"] and marker["size"] == 32
    with pytest.raises(RobenchError, match="at least 32x32"):
        write_imagenet_c(str(tmp_path / "z"), labels=[3], per_class=1, size=16, corruptions=["snow"])


@pytest.mark.parametrize("name", ["imagenet-c", "stylized-imagenet", "imagenet-r", "imagenet-a", "imagenet-sketch",
                                  "imagenet-v2", "imagenet-val-r200", "imagenet-val-a200"])
def test_an_empty_root_names_itself_and_the_expected_layout(tmp_path, name):
    with pytest.raises(DatasetLayoutError) as info:
        get_suite(name).variants(tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message and "expected" in message


def test_a_root_that_is_a_file_says_so(tmp_path):
    path = tmp_path / "imagenet.tar"
    path.write_bytes(b"not a folder")
    with pytest.raises(DatasetLayoutError, match="is a file, not a directory"):
        get_suite("imagenet").variants(path)


def test_files_that_are_not_images_by_name_are_not_data(tmp_path):
    write_imagenet(str(tmp_path), n_classes=2, per_class=2, size=32)
    folder = next((tmp_path / "val").iterdir())
    for junk in ("notes.txt", "Thumbs.db", ".DS_Store", "._ILSVRC2012_val_0.JPEG"):
        (folder / junk).write_bytes(b"junk")
    (variant,) = get_suite("imagenet").variants(tmp_path)
    assert len(variant) == 4 and all(key.endswith(".JPEG") and "/._" not in key for key, _, _ in
                                      variant.source.iter_range(0, 4))


def test_as_released_images_of_another_size_are_named_not_resized(data, tmp_path):
    root = tmp_path / "stylized"
    shutil.copytree(data / "stylized", root)
    odd = next(p for p in sorted(root.rglob("*.png")))
    Image.new("RGB", (41, 40)).save(odd)
    runner = CliRunner()
    result = runner.invoke(cli, ["eval", "-m", ORACLE, "-s", "stylized-imagenet", "-r", str(root), "-o",
                                 str(tmp_path / "out"), "-j", "0", "--no-progress"])
    assert result.exit_code == 2 and odd.name in result.output and "41x40" in result.output
