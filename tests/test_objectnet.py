"""ObjectNet on its stand-in, in the real layout: the mapping files, scoring over label sets (exact counts
from a model whose answers are known), the border crop, the password-protected zip read in place
(== the folder), wrong and missing passwords, the fast ZipCrypto decrypter against zipfile's own, a
job array and a rescore equal to one run."""
import io
import json
import os
import shutil
import zipfile

import numpy as np
import pytest
import torch

from engine_support import comparable, in_process, load
from robench.errors import DatasetLayoutError
from robench.models.oracle import ColourOracle

PASSWORD = "stand-in-password"
RAMP = "test_objectnet:ramp_oracle"
N_CLASSES, PER_CLASS = 3, 8


class RampOracle(ColourOracle):
    """The colour oracle with -0.001 x class index added to every logit: no ties anywhere, so the order
    of the classes it did not read is known (lowest index first)."""

    def forward(self, x):
        ramp = torch.arange(self.num_classes, device=x.device, dtype=x.dtype) * 1e-3
        return super().forward(x) - ramp


def ramp_oracle():
    return RampOracle()


def has_zip():
    return shutil.which("zip") is not None


needs_zip = pytest.mark.skipif(not has_zip(), reason="Info-ZIP's zip is not installed (apt-get install zip)")


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    from robench.datasets.objectnet_standin import write_objectnet_standin, zip_standin

    base = tmp_path_factory.mktemp("objectnet")
    folder = base / "folder"
    written = write_objectnet_standin(str(folder), n_classes=N_CLASSES, per_class=PER_CLASS, size=32)
    out = {"folder": folder, "written": written, "base": base}
    if has_zip():
        for name, store in (("zipped", False), ("stored", True)):
            (base / name).mkdir()
            zip_standin(str(folder), str(base / name / "objectnet-1.0.zip"), PASSWORD, store=store)
            shutil.copy(folder / "robench-generated.json", base / name)
            out[name] = base / name
    return out


@pytest.fixture
def password(monkeypatch):
    monkeypatch.setenv("ROBENCH_OBJECTNET_PASSWORD", PASSWORD)


def evaluate(root, out, *extra, model=RAMP):
    in_process(["eval", "-m", model, "-s", "objectnet", "-r", str(root), "-o", str(out), "-j", "0", "-b", "5",
                "--no-progress", *extra])
    return load(os.path.join(out, model.split(":")[-1], "objectnet.json"))


def expected_counts():
    """(correct1, correct5, correct1_1000way, n) worked out from the stand-in's rules and the ramp oracle's
    logits, by hand: 8 - 0.001 c for the class it reads, -0.001 c for every other class c."""
    from robench.datasets.objectnet_standin import drawn_class, standin_sets

    sets, outside = standin_sets(N_CLASSES, 0)
    union = sorted({c for members in sets.values() for c in members})
    c1 = c5 = c1k = n = 0
    for folder, members in sets.items():
        for j in range(PER_CLASS):
            drawn = drawn_class(sets, outside, folder, j)
            score = {c: (8.0 if c == drawn else 0.0) - 1e-3 * c for c in union}
            top5 = sorted(union, key=lambda c: -score[c])[:5]
            c1 += top5[0] in members
            c5 += any(c in members for c in top5)
            c1k += drawn in members  # over all 1000 the read class wins (8 - 0.999 > 0)
            n += 1
    return c1, c5, c1k, n


def test_the_mapping_files_resolve_through_pytorchs_ids(standin):
    from robench.datasets.objectnet_mappings import read_mapping
    from robench.datasets.objectnet_standin import UNMAPPED, standin_sets
    from robench.datasets.trees import DirectoryTree

    mapping = read_mapping(DirectoryTree(standin["folder"] / "objectnet-1.0" / "mappings"), "mappings")
    assert mapping.sets == standin_sets(N_CLASSES, 0)[0]  # the label file is shuffled: ids had to be mapped
    assert UNMAPPED in mapping.names and UNMAPPED not in mapping.sets


def test_the_folder_gives_the_exact_counts(standin, tmp_path):
    record = evaluate(standin["folder"], tmp_path / "out")
    (variant,) = record["variants"]
    c1, c5, c1k, n = expected_counts()
    assert 0 < c1 < n and c1k < c1  # the stand-in has right and wrong answers, and the two scorings differ
    assert n == standin["written"] == variant["n_images"] == variant["state"]["n"]
    assert (variant["state"]["correct1"], variant["state"]["correct5"], variant["state"]["correct1_1000way"]) == \
        (c1, c5, c1k)
    assert variant["metrics"]["top1"] == pytest.approx(100 * c1 / n)
    assert variant["objectnet_classes"] == N_CLASSES and variant["classes_not_read"] == 1  # the suite's info
    assert variant["border_crop_px"] == 2 and variant["imagenet_classes"] == 2 * N_CLASSES
    assert record["metric_set"]["metrics"] == ["accuracy", "top1_all_classes"]
    assert record["suite"]["data_origin"] == "generated"


def test_the_border_is_cropped_before_the_model_sees_the_image(standin):
    """Read over the whole image, the red border moves the mean colour off the code; cropped, it is the code."""
    from PIL import Image

    from robench.datasets import get_suite
    from robench.datasets.colour_code import LEVEL_BASE, LEVEL_STEP
    from robench.datasets.objectnet_standin import drawn_class, standin_sets

    def read_code(pixels):
        levels = np.clip(np.round((pixels.reshape(-1, 3).mean(0) - LEVEL_BASE) / LEVEL_STEP), 0, 9).astype(int)
        return int(levels[0] * 100 + levels[1] * 10 + levels[2])

    sets, outside = standin_sets(N_CLASSES, 0)
    (variant,) = get_suite("objectnet").variants(standin["folder"])
    source, wrong_uncropped = variant.source, 0
    for i in range(len(source)):
        key, data, _ = source.read(i)
        folder, name = key.split("/")
        drawn = drawn_class(sets, outside, folder, int(name[-6:-4]))
        cropped = np.asarray(Image.open(io.BytesIO(data)), np.float64)
        original = np.asarray(Image.open(standin["folder"] / "objectnet-1.0" / "images" / key), np.float64)
        assert cropped.shape == (original.shape[0] - 4, original.shape[1] - 4, 3)
        assert np.array_equal(cropped, original[2:-2, 2:-2])  # lossless: the pixels themselves
        assert read_code(cropped) == drawn
        wrong_uncropped += read_code(original) != drawn
    assert wrong_uncropped > len(source) // 2


@needs_zip
@pytest.mark.parametrize("form", ["zipped", "stored"])
def test_the_zip_read_in_place_gives_the_folders_results(standin, tmp_path, password, form):
    folder = evaluate(standin["folder"], tmp_path / "folder")
    zipped = evaluate(standin[form], tmp_path / "zip")
    assert zipped["variants"][0]["state"] == folder["variants"][0]["state"]
    assert zipped["variants"][0]["metrics"] == folder["variants"][0]["metrics"]
    assert zipped["suite"]["data_format"] == {"format": "zip", "files": ["objectnet-1.0.zip"],
                                              "encryption": "zipcrypto"}
    text = (tmp_path / "zip" / "ramp_oracle" / "objectnet.json").read_text()
    assert PASSWORD not in text and "ROBENCH_OBJECTNET_PASSWORD" not in json.dumps(zipped["run"])


@needs_zip
def test_a_missing_or_wrong_password_is_one_line(standin, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from robench.cli import cli

    def fails(expected):
        result = CliRunner().invoke(cli, ["eval", "-m", RAMP, "-s", "objectnet", "-r", str(standin["zipped"]), "-o",
                                          str(tmp_path / "out"), "--no-progress"])
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], result.output
        return lines[0]

    monkeypatch.delenv("ROBENCH_OBJECTNET_PASSWORD", raising=False)
    assert "set ROBENCH_OBJECTNET_PASSWORD" in fails("objectnet-1.0.zip is password-protected")
    monkeypatch.setenv("ROBENCH_OBJECTNET_PASSWORD", "not-the-password")
    assert "not-the-password" not in fails("the password is wrong")


@needs_zip
def test_the_fast_decrypter_gives_zipfiles_bytes(standin, tmp_path):
    from robench.datasets import zipcrypto
    from robench.datasets.archive_index import open_zip

    assert zipcrypto.warm()  # numba is installed here: the compiled path is the one checked
    big = tmp_path / "big"
    big.mkdir()
    (big / "noise.bin").write_bytes(np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8).tobytes())
    (big / "tiny.txt").write_bytes(b"x")
    import subprocess

    subprocess.run(["zip", "-q", "-P", PASSWORD, str(tmp_path / "big.zip"), "noise.bin", "tiny.txt"], cwd=big, check=True)
    for path in (standin["zipped"] / "objectnet-1.0.zip", standin["stored"] / "objectnet-1.0.zip", tmp_path / "big.zip"):
        archive = open_zip(str(path), PASSWORD)
        with zipfile.ZipFile(path) as zf:
            for position, info in enumerate(archive.infos):
                assert archive.read(position) == zf.read(info, pwd=PASSWORD.encode()), info.filename
        raw = archive._raw(0)
        assert zipcrypto.decrypt(raw, archive.keys) == zipcrypto.decrypt(raw, archive.keys, force_python=True)


def test_layout_errors_are_one_line(standin, tmp_path):
    from robench.datasets import get_suite

    suite = get_suite("objectnet")

    def broken(change):
        root = tmp_path / f"case{len(list(tmp_path.iterdir()))}"
        shutil.copytree(standin["folder"], root)
        change(root / "objectnet-1.0")
        with pytest.raises(DatasetLayoutError) as error:
            suite.variants(root)
        assert "\n" not in str(error.value)
        return str(error.value)

    assert "mapping file objectnet_to_imagenet_1k.json is missing" in broken(
        lambda top: os.remove(top / "mappings" / "objectnet_to_imagenet_1k.json"))
    assert "is not a folder of folder_to_objectnet_label.json" in broken(
        lambda top: (top / "images" / "not_an_objectnet_class").mkdir())
    assert "lacks the folder object_01" in broken(lambda top: shutil.rmtree(top / "images" / "object_01"))
    assert "is not readable JSON" in broken(
        lambda top: (top / "mappings" / "pytorch_to_imagenet_2012_id.json").write_text("{"))
    assert "is not a line of imagenet_to_label_2012_v2" in broken(
        lambda top: (top / "mappings" / "imagenet_to_label_2012_v2").write_text("no such class\n"))
    assert "has no images/ and mappings/" in broken(lambda top: shutil.rmtree(top / "mappings"))


@needs_zip
def test_a_job_array_and_a_worker_merge_to_the_one_process_record(standin, tmp_path, password):
    single = evaluate(standin["zipped"], tmp_path / "one")
    for i in range(2):
        in_process(["eval", "-m", RAMP, "-s", "objectnet", "-r", str(standin["zipped"]), "-o", str(tmp_path / "tasks"),
                    "-j", "1", "-b", "3", "--no-progress", "--task", f"{i}/2"])  # -j 1: a forked worker decrypts
    in_process(["merge", str(tmp_path / "tasks")])
    merged = load(tmp_path / "tasks" / "ramp_oracle" / "objectnet.json")
    assert merged["variants"] == single["variants"]
    drop_batch = lambda record, out: {**comparable(record, out), "run": {k: v for k, v in  # noqa: E731
                                                                       comparable(record, out)["run"].items()
                                                                       if k not in ("batch_size", "workers")}}
    assert drop_batch(merged, tmp_path / "tasks") == drop_batch(single, tmp_path / "one")


def test_rescore_gives_the_run_record(standin, tmp_path):
    out = tmp_path / "out"
    before = evaluate(standin["folder"], out, "--save-predictions")
    in_process(["rescore", str(out)])
    after = load(out / "ramp_oracle" / "objectnet.json")
    drop = ("created",)
    assert {k: v for k, v in after.items() if k not in drop} == {k: v for k, v in before.items() if k not in drop}


def test_a_nonfinite_row_is_wrong_even_where_the_first_scored_class_is_in_its_set():
    from robench.engine.scoring import Scorer
    from robench.metrics.base import MetricSet
    from robench.metrics.label_sets import LabelSets

    sets = LabelSets({"a": [3, 7], "b": [5, 9], "c": [11, 13], "d": [15, 17]})
    scorer = Scorer(nonfinite="wrong", label_sets=sets)
    state = MetricSet(["accuracy", "top1_all_classes"]).new()
    logits = -1e-3 * torch.arange(1000.0).repeat(3, 1)  # no ties: lower classes first
    logits[0, 7] = 5.0  # right: 7 is in a's set (a's label is 3)
    logits[1, 9] = 5.0  # wrong: 9 is b's; its top 5 (9, 3, 5, 7, 11) holds a's classes
    logits[2, 0] = float("nan")  # replaced: 0 everywhere, -100 at 3 and 7, so its top 5 holds none of a's
    scorer.update(state, logits, torch.tensor([3, 3, 3]))
    counts = [state.state[f].item() for f in ("correct1", "correct5", "correct1_1000way", "n")]
    assert counts == [1, 2, 1, 3]
    assert Scorer(nonfinite="wrong").update(MetricSet(["accuracy"]).new(), logits[:1], torch.tensor([3])) is None
