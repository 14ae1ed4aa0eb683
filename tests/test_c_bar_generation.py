"""``robench data c-bar``: ImageNet-C-bar made from val as make_imagenet_c_bar.py makes it.

Fidelity: robench's corruptions against outputs of the reference code (facebookresearch/augmentation-
corruption ``imagenet_c_bar/corrupt.py``) stored in tests/data/c_bar_reference.npz by
``benchmarks/c_bar_fidelity.py --write-pins`` (48 px image, severities 1 and 5, the same random draws):
they must be equal, pixel for pixel. Then the command on a stand-in val: the released layout, read back and
evaluated by the ``imagenet-c-bar`` suite; resume; bad input."""
import os

import numpy as np
import pytest
from click.testing import CliRunner

from engine_support import ORACLE, in_process, load
from robench.datasets import c_bar_writer, get_suite
from robench.datasets.base import generated_info
from robench.datasets.c_bar_corruptions import CORRUPTIONS
from robench.datasets.imagenet_c_bar import SEVERITIES
from robench.errors import RobenchError

PINS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "c_bar_reference.npz")


@pytest.fixture(scope="module")
def pins():
    with np.load(PINS) as data:
        return {k: data[k] for k in data.files}


def test_the_ten_corruptions_are_the_suites_ten():
    assert sorted(CORRUPTIONS) == sorted(SEVERITIES)


@pytest.mark.parametrize("name", sorted(SEVERITIES))
@pytest.mark.parametrize("severity", [1, 5])
def test_output_equals_the_reference_codes(pins, name, severity):
    expected = pins[f"{name}/{severity}"]
    seed = int(pins[f"{name}/{severity}/seed"])
    got = CORRUPTIONS[name](pins["image"].copy(), SEVERITIES[name][severity - 1], np.random.RandomState(seed))
    assert got.dtype == np.uint8 and got.shape == expected.shape
    assert not np.array_equal(expected, pins["image"])  # the pin is a corrupted image, not the input
    np.testing.assert_array_equal(got, expected)


def test_the_same_seed_gives_the_same_image_and_another_seed_another(pins):
    image = pins["image"]
    a = CORRUPTIONS["sparkles"](image, 3.0, np.random.RandomState(1))
    assert np.array_equal(a, CORRUPTIONS["sparkles"](image, 3.0, np.random.RandomState(1)))
    assert not np.array_equal(a, CORRUPTIONS["sparkles"](image, 3.0, np.random.RandomState(2)))


@pytest.fixture(scope="module")
def val(tmp_path_factory):
    from robench.datasets.imagenet import write_imagenet

    root = tmp_path_factory.mktemp("val")
    write_imagenet(str(root), n_classes=2, per_class=1, size=64)
    return root


@pytest.fixture(scope="module")
def generated(val, tmp_path_factory):
    out = tmp_path_factory.mktemp("c-bar") / "ImageNet-C-Bar"
    written, already = c_bar_writer.materialise(val, out, workers=0)
    return out, written, already


def _files(root):
    out = {}
    for folder, _, names in os.walk(root):
        for name in names:
            if name.endswith(".JPEG"):
                path = os.path.join(folder, name)
                with open(path, "rb") as f:
                    out[os.path.relpath(path, root)] = f.read()
    return out


def test_the_layout_is_the_scripts(generated, val):
    out, written, already = generated
    assert (written, already) == (2 * 50, 0)
    assert sorted(os.listdir(out / "caustic_refraction")) == ["2.35", "3.20", "4.90", "6.60", "9.15"]
    wnids = sorted(os.listdir(val / "val"))
    for wnid in wnids:
        assert sorted(os.listdir(out / "plasma_noise" / "7.00" / wnid)) == sorted(
            os.path.splitext(n)[0] + ".JPEG" for n in os.listdir(val / "val" / wnid))
    from PIL import Image

    with Image.open(out / "sparkles" / "1.00" / wnids[0] / os.listdir(out / "sparkles" / "1.00" / wnids[0])[0]) as im:
        assert (im.format, im.size, im.mode) == ("JPEG", (224, 224), "RGB")
    info = generated_info(out)
    assert info["recipe"] == c_bar_writer.RECIPE and info["departures"] == [c_bar_writer.DEPARTURE]
    assert info["benchmark"] == "ImageNet-C-bar" and "numpy" in info["libraries"] and info["encoding"] == "jpeg"


def test_a_file_holds_the_crop_corrupted_with_the_seed_rule_and_saved_as_q85(generated, val):
    from robench.datasets.imagenet_c_gen import clean_crop, encode

    out, _, _ = generated
    wnid = sorted(os.listdir(val / "val"))[0]
    name = os.listdir(val / "val" / wnid)[0]
    with open(val / "val" / wnid / name, "rb") as f:
        clean = clean_crop(f.read())
    key = f"{wnid}/{name}"
    rng = np.random.RandomState(c_bar_writer.seed_for(key, "caustic_refraction", 4))
    pixels = CORRUPTIONS["caustic_refraction"](clean, 6.6, rng)
    with open(out / "caustic_refraction" / "6.60" / wnid / (os.path.splitext(name)[0] + ".JPEG"), "rb") as f:
        assert f.read() == encode(pixels, "JPEG")


def test_the_folder_reads_back_through_the_suite_and_evaluates(generated, tmp_path):
    out, _, _ = generated
    variants = get_suite("imagenet-c-bar").variants(out)
    assert len(variants) == 50 and {len(v) for v in variants} == {2}
    records = tmp_path / "records"
    in_process(["eval", "-m", ORACLE, "-s", "imagenet-c-bar", "-r", str(out), "-o", str(records), "-j", "0",
                "-b", "8", "--no-progress"])
    record = load(records / "colour_oracle" / "imagenet-c-bar.json")
    assert record["suite"]["data_origin"] == "generated"
    errors = [v["metrics"]["error"] for v in record["variants"]]
    assert len(errors) == 50 and set(errors) <= {0.0, 50.0, 100.0}  # percent, over 2 images a cell
    assert record["aggregates"]["mean_error"] == pytest.approx(np.mean(errors), abs=1e-9)


def test_a_second_run_writes_nothing_and_an_interrupted_one_completes(generated, val, tmp_path, monkeypatch):
    out, _, _ = generated
    assert c_bar_writer.materialise(val, out, workers=0) == (0, 100)
    expected = _files(out)

    partial = tmp_path / "partial"
    calls = {"n": 0}
    real = c_bar_writer.corrupt_pixels

    def dies_after_30(*args):
        calls["n"] += 1
        if calls["n"] > 30:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(c_bar_writer, "corrupt_pixels", dies_after_30)
    with pytest.raises(KeyboardInterrupt):
        c_bar_writer.materialise(val, partial, workers=0)
    monkeypatch.setattr(c_bar_writer, "corrupt_pixels", real)
    assert len(_files(partial)) == 30
    stale = partial / "sparkles" / "1.00" / sorted(os.listdir(val / "val"))[0] / ".tmp-x.JPEG"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"half")
    assert c_bar_writer.materialise(val, partial, workers=0) == (70, 30)
    assert not stale.exists() and _files(partial) == expected


def test_workers_write_the_same_bytes(val, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    c_bar_writer.materialise(val, one, corruptions=["single_frequency_greyscale"], workers=0)
    assert c_bar_writer.materialise(val, two, corruptions=["single_frequency_greyscale"], workers=2) == (10, 0)
    assert _files(one) == _files(two) and len(_files(one)) == 10


def test_bad_input_is_one_line(val, tmp_path):
    with pytest.raises(RobenchError, match=r"unknown ImageNet-C-bar corruption 'sparkle'; Did you mean sparkles"):
        c_bar_writer.materialise(val, tmp_path / "x", corruptions=["sparkle"])
    from robench.cli import cli

    result = CliRunner().invoke(cli, ["data", "c-bar", str(tmp_path / "nothing"), str(tmp_path / "y")])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    other = tmp_path / "other"
    other.mkdir()
    (other / "file.txt").write_text("not ours")
    with pytest.raises(RobenchError, match="not empty and was not made by robench data c-bar"):
        c_bar_writer.materialise(val, other, corruptions=["sparkles"])
