"""Hand-edited records are named and skipped, never shown as whole (leaderboard and report alike).

A record's shown numbers must be what its additive state gives: a `metrics.top1` edited to 42 used to show
42.0 in the main table and 100.00 in the metrics table; deleting fog's five variants kept the stored mCE;
a state count stored as a string crashed both commands with a TypeError. Each case below is made from the
leaderboard's fixture records (in the engine's shape) or from a real run on generated data.
"""
import json
import os
import shutil

import pytest
from click.testing import CliRunner

from robench.cli import cli
from robench.leaderboard import generate
from robench.report import load_results

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "leaderboard")
MODEL = "robust_resnet_up_inverted_dw_small"


@pytest.fixture
def entries(tmp_path):
    shutil.copytree(os.path.join(DATA, "entries"), tmp_path / "entries")
    return tmp_path / "entries"


def edit(path, change):
    with open(path) as f:
        record = json.load(f)
    change(record)
    with open(path, "w") as f:
        json.dump(record, f)


def problems_of(entries, tmp_path):
    board = generate(str(entries), os.path.join(DATA, "reported.csv"), str(tmp_path / "README.md"))
    _, report_problems = load_results(str(entries))
    return board, {os.path.basename(p.path): p.reason for p in board.problems}, \
        {os.path.basename(p.path): p.reason for p in report_problems}


def test_an_edited_top1_is_named_and_the_record_skipped(entries, tmp_path):
    edit(entries / MODEL / "imagenet.json", lambda r: r["variants"][0]["metrics"].update(top1=42.0))
    board, lb, rep = problems_of(entries, tmp_path)
    for found in (lb, rep):
        assert "metrics.top1 = 42.0 but its state gives" in found["imagenet.json"]
    row = [line for line in board.markdown.splitlines() if line.startswith(f"| {MODEL} ")]
    assert row and all(" 42.0 " not in line for line in row)


def test_deleted_variants_under_a_stored_mce_are_named(entries, tmp_path):
    edit(entries / MODEL / "imagenet-c.json",
         lambda r: r.update(variants=[v for v in r["variants"] if v.get("corruption") != "fog"]))
    _, lb, rep = problems_of(entries, tmp_path)
    for found in (lb, rep):
        assert found["imagenet-c.json"].startswith("aggregates.") and "its variants give" in found["imagenet-c.json"]


@pytest.mark.parametrize("value", ["100", [1, 2], None, {"x": 1}])
def test_a_state_that_is_not_numbers_is_one_line_and_the_rest_builds(entries, tmp_path, value):
    edit(entries / MODEL / "imagenet.json", lambda r: r["variants"][0]["state"].update(correct1=value))
    board, lb, rep = problems_of(entries, tmp_path)
    for found in (lb, rep):
        assert "state.correct1" in found["imagenet.json"]
    assert "deit_small_patch16_224" in board.markdown  # everything else is still there
    result = CliRunner().invoke(cli, ["report", str(entries)])
    assert result.exit_code == 0 and "Traceback" not in result.output


def test_every_metric_is_recomputed_from_the_state_on_the_leaderboard(tmp_path):
    """A real record (with its metric set) whose NLL was edited: caught by the full recompute."""
    from robench.datasets.imagenet import write_imagenet
    from robench.engine import EvalOptions, evaluate_suite

    write_imagenet(str(tmp_path / "data"), n_classes=3, per_class=2, size=32)
    (path,) = evaluate_suite(["robench.models.oracle:colour_oracle"], "imagenet", str(tmp_path / "data"),
                             str(tmp_path / "out"), options=EvalOptions(batch_size=4, workers=0, progress=False))
    board, lb, _ = problems_of(tmp_path / "out", tmp_path)
    assert lb == {}
    edit(path, lambda r: r["variants"][0]["metrics"].update(nll=r["variants"][0]["metrics"]["nll"] + 0.5))
    _, lb, rep = problems_of(tmp_path / "out", tmp_path)
    assert "metrics.nll" in lb["imagenet.json"] and "its state gives" in lb["imagenet.json"]
    assert rep == {}  # report checks counts and aggregates only (it must start without torch)
