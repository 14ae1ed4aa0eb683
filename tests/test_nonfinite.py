"""`robench eval --nonfinite error|wrong`: NaN/inf logits fail the model (default) or count as wrong
predictions, counted per variant and in total, through resume, ranks, job-array merges and the
leaderboard. Data: 4 generated classes x 4 images (16, batches of 4 in class order); the colour
oracle is right on every one, and ``nan_rows`` spoils exactly 8 of them: NaN rows for class 3 and one
-inf (away from the true class, so the argmax alone would still be right) for class 999."""
import json
import math
import os

import pytest
import torch
from click.testing import CliRunner

from engine_support import ORACLE, comparable, load, measured_sections
from robench.cli import cli
from robench.models.oracle import ColourOracle

LABELS = (3, 200, 500, 999)
NAN_CLASS, INF_CLASS = 3, 999
PER_CLASS = 4
SPOILED = 2 * PER_CLASS  # images with non-finite logits
N = len(LABELS) * PER_CLASS
SPEC = "test_nonfinite:nan_rows"
CALLS = []  # batch sizes the model saw in this process


class Stop(BaseException):
    """Stands in for a kill: not an Exception, so nothing in robench catches it."""


class NaNRows(ColourOracle):
    """The oracle, with NaN rows for class NAN_CLASS and a -inf (in column 0) for class INF_CLASS. With
    NONFINITE_TEST_STOP_AT=k its k-th forward pass raises Stop."""

    def forward(self, x):
        CALLS.append(x.shape[0])
        if len(CALLS) == int(os.environ.get("NONFINITE_TEST_STOP_AT", "0")):
            raise Stop()
        out = super().forward(x).clone()
        decided = out.argmax(dim=1)
        out[decided == NAN_CLASS] = float("nan")
        out[decided == INF_CLASS, 0] = float("-inf")
        return out


def nan_rows():
    return NaNRows()


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    from robench.datasets.colour_code import write_class_folders

    out = tmp_path_factory.mktemp("nonfinite")
    write_class_folders(str(out / "val"), LABELS, PER_CLASS, size=32)
    return out


def run(*args):
    return CliRunner().invoke(cli, ["eval", *map(str, args), "-b", "4", "-j", "0", "--threads", "1",
                                    "--no-progress"])


def record_of(out, model="nan_rows", suite="imagenet"):
    return load(os.path.join(out, model, f"{suite}.json"))


def warnings(output):
    return [line for line in output.splitlines() if line.startswith("robench: warning:")]


@pytest.fixture(scope="module")
def reference(root, tmp_path_factory):
    """One uninterrupted one-process run with --nonfinite wrong (the record every other path must give)."""
    out = tmp_path_factory.mktemp("reference")
    result = run("-m", SPEC, "-m", ORACLE, "-r", root, "-o", out, "--nonfinite", "wrong", "--save-predictions")
    assert result.exit_code == 0, result.output
    return out, result.output


# --- the scorer: what a non-finite row becomes for every metric -------------------------------------------
def _scored(label_subset, labels, logits, metrics=("accuracy", "nll", "calibration", "top1_all_classes",
                                                     "nonfinite")):
    from robench.engine.scoring import Scorer
    from robench.metrics.base import MetricSet

    state = MetricSet(list(metrics)).new()
    Scorer(label_subset, "wrong").update(state, logits, torch.tensor(labels))
    return state


@pytest.mark.parametrize("subset", [None, "imagenet_r"])
def test_a_nonfinite_row_is_wrong_for_every_metric(subset):
    from robench.labels import subset_indices
    from robench.metrics.calibration import ECE_BINS

    classes = 1000 if subset is None else len(subset_indices(subset))
    label = subset_indices("imagenet_r")[3]  # a class of both the 1k and the 200-class scoring
    logits = torch.zeros(3, 1000)
    logits[:, label] = 10.0  # a confident right answer ...
    logits[0, 7] = float("nan")  # ... spoiled by one NaN,
    logits[1, label] = float("inf")  # by +inf on the right class (argmax would say right),
    state = _scored(subset, [label] * 3, logits)  # row 2 stays right
    got = state.compute()
    assert state.state["nonfinite"].item() == 2 and got["nonfinite"] == 2
    assert state.state["correct1"].item() == 1 and state.state["correct5"].item() == 1
    assert state.state["correct1_1000way"].item() == 1
    right = math.log(1 + (classes - 1) * math.exp(-10.0))
    wrong = 100.0 + math.log(classes - 1)  # -log_softmax of -100 against classes - 1 zeros
    assert state.state["nll_sum"].item() == pytest.approx(2 * wrong + right, abs=1e-4)
    assert 1 / (classes - 1) < 1 / ECE_BINS  # confidence 1 / (classes - 1): the lowest bin, and wrong
    assert state.state["bin_count"][0].item() == 2 and state.state["bin_correct"][0].item() == 0
    assert state.state["bin_conf"][0].item() == pytest.approx(2 / (classes - 1), abs=1e-6)


def test_the_default_scorer_refuses_nonfinite_logits():
    from robench.engine.scoring import Scorer
    from robench.errors import RobenchError
    from robench.metrics.base import MetricSet

    with pytest.raises(RobenchError, match="non-finite logits in 1 row"):
        Scorer().update(MetricSet(["accuracy"]).new(), torch.tensor([[float("nan")] * 1000]), torch.tensor([0]))
    with pytest.raises(RobenchError, match="nonfinite must be one of error, wrong"):
        Scorer(None, "ignore")


def test_cue_conflict_decides_a_nonfinite_row_as_neither_shape_nor_texture():
    from robench.metrics.base import MetricSet
    from robench.metrics.cue_conflict import CATEGORIES, first_imagenet_index, neither

    shape, texture = torch.tensor([0, 1, 0, 5, 2]), torch.tensor([1, 0, 2, 5, 0])
    assert neither(shape, texture).tolist() == [2, 2, 1, 0, 1]
    keys = ["airplane/airplane1-bear2.png", "bear/bear1-airplane2.png"]
    labels = [first_imagenet_index(k.split("/")[0]) for k in keys]
    logits = torch.zeros(2, 1000)
    logits[0, labels[1]] = float("nan")  # would have been a texture decision ...
    logits[1, labels[0]] = 20.0  # ... and this one is one (bear shape, airplane texture)
    state = MetricSet(["cue_conflict", "nonfinite"]).new()
    from robench.engine.scoring import Scorer

    Scorer(None, "wrong").update(state, logits, torch.tensor(labels), keys=keys)
    pos = {c: i for i, c in enumerate(CATEGORIES)}
    assert state.state["cue_decisions"][pos["airplane"], pos["bicycle"]].item() == 1  # neither airplane nor bear
    assert state.state["cue_conflict"][:, 2].sum().item() == 1  # one texture decision, the finite one
    assert state.state["cue_conflict"][:, 1].sum().item() == 0 and state.state["nonfinite"].item() == 1


def test_the_metric_is_only_in_the_set_on_request():
    from robench.datasets import get_suite
    from robench.metrics.base import METRICS, MetricSet, StaleMetricState

    assert "nonfinite" in METRICS.names()
    for suite in ("imagenet", "imagenet-r", "imagenet-c", "cue-conflict"):
        assert "nonfinite" not in MetricSet(None, get_suite(suite)).names
    metric_set = MetricSet(["accuracy", "nonfinite"])
    with pytest.raises(StaleMetricState, match="nonfinite 3 is not a count between 0 and n 2"):
        metric_set.restore({"n": 2, "correct1": 0, "correct5": 0, "nonfinite": 3})


# --- the command ----------------------------------------------------------------------------------------
def test_by_default_the_model_fails_and_the_others_finish(root, tmp_path):
    result = run("-m", SPEC, "-m", ORACLE, "-r", root, "-o", tmp_path)
    assert result.exit_code == 1 and "Traceback" not in result.output
    (line,) = [line for line in result.output.splitlines() if line.startswith("error: model nan_rows failed")]
    assert "non-finite logits: 4000 of 4000 values are NaN or infinite" in line and "--nonfinite wrong" in line
    assert not (tmp_path / "nan_rows" / "imagenet.json").exists()
    oracle = record_of(tmp_path, "colour_oracle")
    assert oracle["variants"][0]["metrics"]["top1"] == 100.0 and "nonfinite" not in oracle["metric_set"]["metrics"]
    assert "nonfinite" not in oracle["aggregates"] and not warnings(result.output)


def test_wrong_counts_them_as_wrong_predictions(reference):
    out, output = reference
    record = record_of(out)
    (variant,) = record["variants"]
    oracle = record_of(out, "colour_oracle")["variants"][0]
    correct = round(oracle["state"]["correct1"])  # the oracle is right on all 16 (so is nan_rows, but for its NaNs)
    assert correct == N
    assert variant["state"]["correct1"] == variant["state"]["correct5"] == correct - SPOILED
    assert variant["metrics"]["top1"] == variant["metrics"]["top5"] == 100.0 * (correct - SPOILED) / N
    assert variant["metrics"]["nonfinite"] == SPOILED and variant["state"]["nonfinite"] == SPOILED
    assert variant["n_seen"] == N
    right = oracle["state"]["nll_sum"] / N
    assert variant["metrics"]["nll"] == pytest.approx((SPOILED * (100 + math.log(999)) + (N - SPOILED) * right) / N,
                                                      abs=1e-4)
    assert record["aggregates"]["nonfinite"] == SPOILED and "nonfinite" in record["aggregates"]["definitions"]
    assert record["metric_set"]["metrics"][-1] == "nonfinite" and record["run"]["config"]["nonfinite"] == "wrong"
    assert warnings(output) == ["robench: warning: model nan_rows on imagenet/val: 8 of 16 image(s) had NaN or "
                                "infinite logits and were counted as wrong predictions (--nonfinite wrong)"]
    # a model without non-finite logits: the count is 0, the numbers those of a default run
    clean = record_of(out, "colour_oracle")
    assert clean["variants"][0]["metrics"]["nonfinite"] == 0 and clean["aggregates"]["nonfinite"] == 0
    assert "nonfinite: 8" in output  # the summary prints the total as a count
    import pandas as pd

    rows = pd.read_parquet(os.path.join(out, "nan_rows", "imagenet.predictions.parquet"))
    spoiled = rows["label"].isin([NAN_CLASS, INF_CLASS])
    assert spoiled.sum() == SPOILED and (rows.loc[spoiled, "label_prob"] == 0).all()  # the replacement row
    assert (rows.loc[~spoiled, "top5_class"].map(lambda c: c[0]) == rows.loc[~spoiled, "label"]).all()


def test_a_default_run_does_not_reuse_cells_of_a_wrong_run(reference, root, tmp_path):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(reference[0], out)
    result = run("-m", ORACLE, "-r", root, "-o", out)  # the metric set differs: recomputed, nothing mixed
    assert result.exit_code == 0, result.output
    record = record_of(out, "colour_oracle")
    assert "nonfinite" not in record["metric_set"]["metrics"] and "nonfinite" not in record["variants"][0]["state"]
    assert "nonfinite" not in record["aggregates"]


def test_a_config_file_sets_it_and_refuses_other_values(root, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(f'models = ["{SPEC}"]\nroots = {{imagenet = "{root}"}}\nnonfinite = "wrong"\n')
    result = run("--config", config, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert record_of(tmp_path / "out")["variants"][0]["metrics"]["nonfinite"] == SPOILED
    shown = CliRunner().invoke(cli, ["eval", "--config", str(config), "--print-config"])
    assert 'nonfinite = "wrong"' in shown.output
    config.write_text(f'models = ["{SPEC}"]\nroots = {{imagenet = "{root}"}}\nnonfinite = "ignore"\n')
    refused = run("--config", config, "-o", tmp_path / "out2")
    assert refused.exit_code == 2 and "nonfinite must be error or wrong, not 'ignore'" in refused.output
    flag = run("-m", SPEC, "-r", root, "-o", tmp_path / "o3", "--nonfinite", "ignore")
    assert flag.exit_code == 2 and "'ignore' is not one of 'error', 'wrong'" in flag.output


def test_the_python_api_takes_the_option(reference, root, tmp_path):
    import robench

    results = robench.evaluate(NaNRows(), "imagenet", root=root, out=str(tmp_path), name="nan_rows",
                               nonfinite="wrong", batch_size=4, workers=0, threads=1)
    (record,) = results.records
    want = record_of(reference[0])
    assert record["variants"] == want["variants"] and record["aggregates"] == want["aggregates"]


def test_a_stopped_run_resumes_with_its_count(reference, root, tmp_path, monkeypatch):
    """Stopped in its 3rd batch (progress saved after each batch, 4 NaN rows in it), then rerun: the rerun
    computes only the last 2 batches and writes the uninterrupted run's record."""
    out = tmp_path / "out"
    monkeypatch.setenv("NONFINITE_TEST_STOP_AT", "3")
    CALLS.clear()
    with pytest.raises(Stop):
        run("-m", SPEC, "-r", root, "-o", out, "--nonfinite", "wrong", "--progress-every", "1")
    partial = out / "nan_rows" / ".slices" / "imagenet" / "imagenet__val.progress-0-of-1.json"
    saved = load(partial)
    assert saved["done"] == [[0, 8]] and saved["state"]["nonfinite"] == PER_CLASS  # class 3's NaN rows
    assert not (out / "nan_rows" / ".slices" / "imagenet" / "imagenet__val.json").exists()
    monkeypatch.delenv("NONFINITE_TEST_STOP_AT")
    CALLS.clear()
    result = run("-m", SPEC, "-r", root, "-o", out, "--nonfinite", "wrong", "--progress-every", "1")
    assert result.exit_code == 0, result.output
    assert CALLS == [4, 4]  # resumed at image 8
    assert comparable(record_of(out))["variants"] == comparable(record_of(reference[0]))["variants"]
    assert record_of(out)["aggregates"] == record_of(reference[0])["aggregates"]
    assert not partial.exists()
    CALLS.clear()  # a finished cell is reused as it is, count included
    again = run("-m", SPEC, "-r", root, "-o", out, "--nonfinite", "wrong")
    assert again.exit_code == 0 and CALLS == [] and record_of(out)["variants"][0]["metrics"]["nonfinite"] == SPOILED
    assert len(warnings(again.output)) == 1  # the record's variant is still named


def test_job_array_tasks_merge_to_the_one_run_record(reference, root, tmp_path):
    out = tmp_path / "tasks"
    for i in range(2):
        result = run("-m", SPEC, "-r", root, "-o", out, "--nonfinite", "wrong", "--task", f"{i}/2")
        assert result.exit_code == 0, result.output
        part = record_of(out, suite=f"imagenet.task-{i}-of-2")
        assert part["variants"][0]["metrics"]["nonfinite"] == PER_CLASS  # class 3 in task 0, class 999 in task 1
        assert len(warnings(result.output)) == 1
    merged = CliRunner().invoke(cli, ["merge", str(out)])
    assert merged.exit_code == 0, merged.output
    assert "note: 8 image(s) had NaN or infinite logits and were counted as wrong predictions" in merged.output
    record, want = record_of(out), record_of(reference[0])
    assert record["variants"] == want["variants"] and record["aggregates"] == want["aggregates"]
    assert record["aggregates"]["nonfinite"] == SPOILED


def test_tasks_with_and_without_the_option_do_not_merge(root, tmp_path):
    out = tmp_path / "tasks"
    assert run("-m", ORACLE, "-r", root, "-o", out, "--nonfinite", "wrong", "--task", "0/2").exit_code == 0
    assert run("-m", ORACLE, "-r", root, "-o", out, "--task", "1/2").exit_code == 0
    merged = CliRunner().invoke(cli, ["merge", str(out)])
    assert merged.exit_code != 0 and "differ in metric set" in merged.output and "--nonfinite" in merged.output


def test_the_leaderboard_ranks_a_nonzero_count_apart(reference, tmp_path):
    import shutil

    from robench.leaderboard import generate
    from robench.leaderboard.protocol import describe, protocol_key

    record = record_of(reference[0])
    # the oracle's own departures (a 64 px model on 16 images of val's 50,000) and no more: its count is 0
    others = protocol_key(record_of(reference[0], "colour_oracle"))
    assert "nonfinite" not in dict(others)
    # one section for every such record, whatever its count (the counts are in the metrics table)
    assert protocol_key(record) == tuple(sorted(others + (("nonfinite", "wrong"),)))
    assert describe((("nonfinite", "wrong"),)) == (
        "Separate protocol: images with NaN or infinite logits counted as wrong predictions (robench eval "
        "--nonfinite wrong; the counts are in the metrics table)")
    entries = tmp_path / "entries"
    for model in ("nan_rows", "colour_oracle"):
        os.makedirs(entries / model)
        shutil.copy(os.path.join(reference[0], model, "imagenet.json"), entries / model)
    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "leaderboard", "reported.csv")
    board = generate(str(entries), data, str(tmp_path / "README.md"))
    assert board.problems == []
    sections = measured_sections(board.markdown)
    assert "images with NaN or infinite logits counted as wrong" in sections["nan_rows"]
    assert "NaN" not in sections["colour_oracle"]


@pytest.mark.multiprocess
def test_torchrun_sums_the_count_over_ranks(reference, root, tmp_path):
    """Two gloo ranks: rank 0 sees class 3's NaN rows, rank 1 class 999's -inf; the all-reduce sums them."""
    from engine_support import run as robench

    out = tmp_path / "out"
    done = robench(["eval", "-m", SPEC, "-m", ORACLE, "-r", str(root), "-o", str(out), "-b", "4", "-j", "0",
                    "--no-progress", "--nonfinite", "wrong"], nproc=2)
    record = record_of(out)
    assert record["run"]["world_size"] == 2 and record["variants"][0]["metrics"]["nonfinite"] == SPOILED
    assert comparable(record)["variants"] == comparable(record_of(reference[0]))["variants"]
    assert record["aggregates"] == record_of(reference[0])["aggregates"]
    assert len(warnings(done.stderr)) == 1  # rank 0 alone writes records and warns
    assert json.loads(json.dumps(record["variants"][0]["state"]))["nonfinite"] == SPOILED
