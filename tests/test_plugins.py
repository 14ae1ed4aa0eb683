"""A suite and a metric added by another package through entry points, with no file of robench edited.

``tests/plugins`` holds a package and its ``.dist-info`` exactly as pip installs a distribution, so
Python's entry-point machinery finds its ``[robench.suites]`` and ``[robench.metrics]`` entries the
moment the folder is on ``sys.path``. The robench commands run in child processes with and without it:
the suite appears in ``list suites``, ``data synth``, ``data check``, ``eval`` and the leaderboard (its
own columns and detail table), and the metric in records, summaries and the leaderboard; cells written
before the metric existed are recomputed.
"""
import json
import os
import subprocess
import sys

import pytest

from engine_support import ORACLE, REPO, env

PLUGINS = os.path.join(REPO, "tests", "plugins")
pytestmark = [pytest.mark.slow, pytest.mark.multiprocess]


def robench(*args, plugins=True):
    """``robench ARGS`` in a child process, with the plug-in distribution importable or not."""
    child = env()
    if plugins:
        child["PYTHONPATH"] = os.pathsep.join([PLUGINS, child["PYTHONPATH"]])
    result = subprocess.run([sys.executable, "-m", "robench", *map(str, args)], env=child, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def load(path):
    with open(path) as f:
        return json.load(f)


def test_the_robench_tree_does_not_name_the_plugin():
    for folder, _, files in os.walk(os.path.join(REPO, "robench")):
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(folder, name)) as f:
                    text = f.read()
                assert "example-c" not in text and "brier" not in text.lower(), name


def test_a_plugin_suite_runs_through_every_command(tmp_path):
    listed = robench("list", "suites")
    assert "example-c" in listed and "<corruption>/<severity 1-3>/<wnid>/*.png (32x32)" in listed
    assert "example-c" not in robench("list", "suites", plugins=False)

    data, out = tmp_path / "data", tmp_path / "out"
    assert "wrote 54 images in the example-c layout" in robench("data", "synth", data / "c", "--suite", "example-c")
    robench("data", "synth", data / "imagenet", "--classes", "3", "--per-class", "2")
    checked = robench("data", "check", "example-c", data / "c")
    assert "example-c/stripes/1" in checked and "example-c/haze/3" in checked
    summary = robench("eval", "-m", ORACLE, "-s", "example-c", "-r", data / "c", "-o", out, "-j", "0", "--no-progress")
    assert "mce:" in summary and "mean_error:" in summary
    robench("eval", "-m", ORACLE, "-s", "imagenet", "-r", data / "imagenet", "-o", out, "-j", "0", "--no-progress")

    record = load(out / "colour_oracle" / "example-c.json")
    assert [v["name"] for v in record["variants"]][:3] == [f"example-c/stripes/{s}" for s in (1, 2, 3)]
    assert len(record["variants"]) == 9 and record["suite"]["data_origin"] == "generated"
    errors = {(v["corruption"], v["severity"]): v["metrics"]["error"] / 100 for v in record["variants"]}
    from robench.metrics import corruption as C
    from robench.metrics.corruption import CorruptionSet

    with open(os.path.join(PLUGINS, "robench_example_plugin", "example_c.csv")) as f:
        example_c = CorruptionSet.from_csv_text(f.read(), "Example-C", "the baseline")
    by_corruption = {c: [errors[(c, s)] for s in (1, 2, 3)] for c in ("stripes", "speckle", "haze")}
    assert record["aggregates"]["mce"] == pytest.approx(C.mce(example_c, by_corruption))
    assert record["aggregates"]["extra_corruption_error"]["haze"] == pytest.approx(
        100 * sum(by_corruption["haze"]) / 3)

    board = tmp_path / "board" / "README.md"
    robench("leaderboard", "--entries", out, "--out", board)
    text = board.read_text()
    assert "Example-C mCE ↓" in text and "Example-C relative mCE ↓" in text
    assert "### Example-C by corruption" in text and "example-c-corruptions.png" in text
    # relative mCE is joined with the same model's clean record: the oracle is perfect on clean data
    expected = C.relative_mce(example_c, by_corruption, 0.0)
    row = next(line for line in text.splitlines() if line.startswith("| colour_oracle") and "measured" in line)
    assert f"{expected:.1f}" in row
    assert "example-c" not in robench("leaderboard", "--entries", out, "--out", tmp_path / "b2" / "README.md",
                                      plugins=False).lower().replace("skipped", "")


def test_a_plugin_metric_shows_everywhere_and_old_cells_are_recomputed(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    robench("data", "synth", data, "--classes", "4", "--per-class", "2", plugins=False)
    args = ["eval", "-m", ORACLE, "-s", "imagenet", "-r", data, "-o", out, "-j", "0", "--no-progress"]
    robench(*args, plugins=False)
    cell = out / "colour_oracle" / ".slices" / "imagenet" / "imagenet__val.json"
    before = load(cell)
    assert "brier_sum" not in before["state"]

    summary = robench(*args)  # same command, the metric now installed
    after = load(cell)
    assert after["metric_set"] != before["metric_set"] and "brier_sum" in after["state"]
    assert after["state"]["n"] == before["state"]["n"] == 8  # recomputed over the same images, not zero-filled
    record = load(out / "colour_oracle" / "imagenet.json")
    from robench.datasets import get_suite
    from robench.metrics.base import MetricSet

    # the built-in set (this process has no plug-in), then the plug-in's metric
    assert record["metric_set"]["metrics"] == MetricSet(None, get_suite("imagenet")).names + ["brier"]
    brier = record["variants"][0]["metrics"]["brier"]
    # the oracle puts logit 8 on the right class: p = e^8 / (e^8 + 999) for it, the rest shared
    import math

    p = math.exp(8) / (math.exp(8) + 999)
    assert brier == pytest.approx((1 - p) ** 2 + 999 * ((1 - p) / 999) ** 2, abs=1e-6)
    assert "Brier" in summary.splitlines()[2]
    board = tmp_path / "board" / "README.md"
    robench("leaderboard", "--entries", out, "--out", board)
    assert "|   Brier |" in board.read_text()

    robench(*args, plugins=False)  # and back: cells of the larger set are not trusted for the smaller one
    assert "brier_sum" not in load(cell)["state"]
