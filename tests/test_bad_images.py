"""Files that cannot be decoded (truncated JPEG, zero bytes, a text file in a class folder): a clear
error naming the file by default; counted and listed in the record with --skip-bad-images."""
import os
import shutil

import pytest
from click.testing import CliRunner

from robench.cli import cli
from robench.datasets import get_suite
from robench.datasets.imagenet import write_imagenet
from robench.results import read_record

from engine_support import ORACLE


@pytest.fixture(scope="module")
def good_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("good")
    write_imagenet(str(root), n_classes=2, per_class=3, size=32, seed=3)
    return root


def _spoil(good_root, tmp_path, kinds):
    """A copy of the data with one bad file per kind; returns (root, {kind: relative path})."""
    root = tmp_path / "data"
    shutil.copytree(good_root, root)
    folder = sorted((root / "val").iterdir())[0]
    files = sorted(folder.iterdir())
    bad = {}
    if "truncated" in kinds:
        data = files[0].read_bytes()
        files[0].write_bytes(data[: len(data) // 2])
        bad["truncated"] = files[0]
    if "empty" in kinds:
        files[1].write_bytes(b"")
        bad["empty"] = files[1]
    if "text" in kinds:  # a text file named like an image (a .txt beside the images is not data at all)
        (folder / "notes.JPEG").write_text("not an image\n")
        (folder / "notes.txt").write_text("not data\n")
        bad["text"] = folder / "notes.JPEG"
    return root, bad


def _eval(root, out, *extra, workers="0"):
    return CliRunner().invoke(cli, ["eval", "-m", ORACLE, "-s", "imagenet", "-r", str(root), "-o", str(out),
                                    "-j", workers, "-b", "4", "--no-progress", *extra])


@pytest.mark.parametrize("kind", ["truncated", "empty", "text"])
def test_a_bad_file_stops_the_run_and_is_named(good_root, tmp_path, kind):
    root, bad = _spoil(good_root, tmp_path, [kind])
    result = _eval(root, tmp_path / "out")
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert line.startswith("Error: cannot decode ") and str(bad[kind]) in line
    assert "--skip-bad-images" in line and "Traceback" not in line
    assert not os.path.exists(tmp_path / "out" / "colour_oracle" / "imagenet.json")  # nothing partial


@pytest.mark.parametrize("workers", ["0", "1"])
def test_skip_bad_images_counts_and_lists_them(good_root, tmp_path, workers):
    root, bad = _spoil(good_root, tmp_path, ["truncated", "empty", "text"])
    result = _eval(root, tmp_path / "out", "--skip-bad-images", workers=workers)
    assert result.exit_code == 0, result.output
    (variant,) = read_record(tmp_path / "out" / "colour_oracle" / "imagenet.json")["variants"]
    assert variant["n_images"] == 7  # 6 images + the text file named .JPEG (notes.txt is not data)
    assert variant["n_seen"] == 4
    assert variant["metrics"]["top1"] == 100.0  # the good images are all scored
    skipped = {entry[-2]: entry[-1] for entry in variant["skipped"]}
    folder = bad["text"].parent.name
    assert set(skipped) == {f"{folder}/{p.name}" for p in bad.values()}
    assert "truncated" in skipped[f"{folder}/{bad['truncated'].name}"].lower()
    assert all(reason for reason in skipped.values())
    assert "3 image(s) could not be decoded" in variant["note"]


def test_an_image_of_another_size_in_a_suite_used_as_released_is_named_not_resized(tmp_path):
    """Stylized-ImageNet is used as released (no resize): a 40x32 file among its 32x32 ones is reported
    by name on the CPU path (engine.data.decoded), or skipped and counted with --skip-bad-images."""
    from PIL import Image

    root = tmp_path / "stylized"
    get_suite("stylized-imagenet").write_generated(str(root), n_classes=2, per_class=2, size=32)
    odd = sorted(p for p in root.rglob("*.png"))[0]
    Image.new("RGB", (40, 32), (100, 100, 100)).save(odd)
    args = ["eval", "-m", ORACLE, "-s", "stylized-imagenet", "-r", str(root), "-b", "2", "-j", "0", "--no-progress"]
    refused = CliRunner().invoke(cli, [*args, "-o", str(tmp_path / "a")])
    assert refused.exit_code == 2 and odd.name in refused.output
    assert "image is 40x32, not the 32x32 of images used as released" in refused.output
    skipped = CliRunner().invoke(cli, [*args, "-o", str(tmp_path / "b"), "--skip-bad-images"])
    assert skipped.exit_code == 0, skipped.output
    (variant,) = read_record(tmp_path / "b" / "colour_oracle" / "stylized-imagenet.json")["variants"]
    assert variant["n_seen"] == 3 and variant["skipped"][0][1].startswith("image is 40x32")
