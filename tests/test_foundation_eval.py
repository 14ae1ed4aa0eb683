"""End to end on generated clean ImageNet: exact accuracies through the real pipeline."""
import json
import os
import shutil

import pytest
from click.testing import CliRunner

from robench.cli import cli
from robench.engine import EvalOptions, evaluate_suite
from robench.results import SCHEMA_VERSION, read_record

from engine_support import ORACLE

FAST = EvalOptions(batch_size=16, workers=0, progress=False)


def test_oracle_scores_exactly_100(clean_root, tmp_path):
    (path,) = evaluate_suite([ORACLE], "imagenet", clean_root, tmp_path, options=FAST)
    assert path == os.path.join(str(tmp_path), "colour_oracle", "imagenet.json")
    record = read_record(path)
    (variant,) = record["variants"]
    assert variant["n_seen"] == variant["n_images"] == 50
    assert variant["metrics"]["top1"] == 100.0
    assert variant["metrics"]["top5"] == 100.0
    assert variant["metrics"]["error"] == 0.0
    assert record["schema_version"] == SCHEMA_VERSION
    assert record["model"]["spec"] == ORACLE
    assert record["run"]["world_size"] == 1


def test_relabelled_images_lower_accuracy_by_exactly_their_share(clean_root, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(clean_root, root)
    folders = sorted(os.listdir(root / "val"))
    moved = sorted(os.listdir(root / "val" / folders[0]))[:3]
    for name in moved:  # three images now carry the wrong (second folder's) label
        shutil.move(str(root / "val" / folders[0] / name), str(root / "val" / folders[1] / name))
    (path,) = evaluate_suite([ORACLE], "imagenet", root, tmp_path / "out", options=FAST)
    metrics = read_record(path)["variants"][0]["metrics"]
    assert metrics["top1"] == pytest.approx(100.0 * 47 / 50)
    assert metrics["error"] == pytest.approx(100.0 * 3 / 50)


def test_cli_eval_writes_record_and_prints_table(clean_root, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["eval", "-m", ORACLE, "--root", str(clean_root), "--out", str(out),
                                      "-j", "0", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "imagenet/val" in result.output and "100.00" in result.output
    record = json.loads((out / "colour_oracle" / "imagenet.json").read_text())
    assert record["variants"][0]["metrics"]["top1"] == 100.0
    # numbers are numbers, not strings
    assert isinstance(record["model"]["params"], int)
    assert isinstance(record["variants"][0]["n_seen"], int)


def test_timm_model_runs_through_the_engine(clean_root, tmp_path):
    (path,) = evaluate_suite(["resnet18@random"], "imagenet", clean_root, tmp_path, options=FAST)
    record = read_record(path)
    assert record["model"]["weights"] == "random"
    assert record["model"]["data_config"]["input_size"] == [3, 224, 224]
    assert record["variants"][0]["n_seen"] == 50
    assert 0.0 <= record["variants"][0]["metrics"]["top1"] <= 100.0


def test_rerun_reuses_finished_cells(clean_root, tmp_path):
    (path,) = evaluate_suite([ORACLE], "imagenet", clean_root, tmp_path, options=FAST)
    cell = tmp_path / "colour_oracle" / ".slices" / "imagenet" / "imagenet__val.json"
    before = cell.stat().st_mtime_ns
    evaluate_suite([ORACLE], "imagenet", clean_root, tmp_path, options=FAST)
    assert cell.stat().st_mtime_ns == before
    assert read_record(path)["variants"][0]["metrics"]["top1"] == 100.0
