"""The cue-conflict suite and its shape-bias metric (Geirhos et al., ICLR 2019, as model-vs-human computes it):
the pure formula against hand counts, the 16-way mean-probability decision on hand-made logits, the
additive state (merge = sum), the generated stand-in stimuli through `robench data synth` + `robench eval`
with the colour oracle (exact shape bias), the leaderboard column, detail table and plot, and layout errors."""
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from robench.cli import cli
from robench.datasets import get_suite, suite_names
from robench.datasets.cue_conflict import expected_generated, write_cue_conflict
from robench.errors import DatasetLayoutError
from robench.metrics import shape_bias
from robench.metrics.base import METRICS, MetricSet
from robench.metrics.cue_conflict import (CATEGORIES, IMAGENET_INDICES, category_probabilities, decide, shape_of,
                                          texture_of)
from robench.results import read_record

ORACLE = "robench.models.oracle:colour_oracle"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POS = {c: i for i, c in enumerate(CATEGORIES)}


# --- the formula -------------------------------------------------------------------------------------
def test_shape_bias_by_hand():
    shapes = ["cat", "cat", "cat", "dog", "dog", "dog", "bird", "bird"]
    textures = ["dog", "dog", "cat", "cat", "bird", "dog", "cat", "car"]
    decisions = ["cat", "dog", "cat", "cat", "knife", "dog", "bird", "bird"]
    # conflict images: 0, 1, 3, 4, 6, 7 (2 and 5 have shape == texture: dropped, though both are decided
    # as their shape). Shape decisions: 0, 6, 7; texture decisions: 1, 3; image 4 (knife) is neither.
    # N_all = 8 (model-vs-human divides by every image), so frac_shape = 3/8, frac_texture = 2/8 and
    # shape bias = (3/8) / (3/8 + 2/8) = 3/5.
    result = shape_bias(shapes, textures, decisions)
    assert result.frac_shape == 3 / 8 and result.frac_texture == 2 / 8
    assert result.shape_bias == pytest.approx(0.6, abs=1e-15)
    assert (result.n_all, result.n_conflict, result.n_shape, result.n_texture) == (8, 6, 3, 2)
    # counting the no-conflict images would give 5/7 (or 5/9 counted as texture too): they are excluded
    assert shape_bias(["cat"], ["cat"], ["cat"]).shape_bias is None
    assert shape_bias(["cat", "dog"], ["dog", "cat"], ["oven", "oven"]).shape_bias is None  # neither only
    with pytest.raises(ValueError):
        shape_bias(["cat"], ["dog"], [])


def test_texture_and_shape_from_names():
    assert texture_of("airplane/airplane1-bicycle2.png") == "bicycle"
    assert texture_of("bear/bear10-bottle12.png") == "bottle"
    assert texture_of("subj-01_cue-conflict_dog10-bird2.png") == "bird"  # model-vs-human's own example
    assert shape_of("airplane/airplane1-bicycle2.png") == "airplane"
    assert shape_of("airplane1-bicycle2.png") == "airplane"
    assert CATEGORIES == tuple(sorted(CATEGORIES)) and len(CATEGORIES) == 16
    flat = [i for c in CATEGORIES for i in IMAGENET_INDICES[c]]
    assert len(flat) == len(set(flat)) and all(0 <= i < 1000 for i in flat)


# --- the decision rule and the metric's state ------------------------------------------------------------
def logits_from(probabilities):
    """1000-way logits whose softmax is ``probabilities`` ({index: p}; the rest share what is left)."""
    rest = (1.0 - sum(probabilities.values())) / (1000 - len(probabilities))
    p = torch.full((1000,), rest, dtype=torch.float64)
    for i, v in probabilities.items():
        p[i] = v
    return p.log()


def mean_vs_sum():
    """Airplane (one class) at 0.2; each of dog's 118 classes at 0.005 (0.59 in all): by mean airplane
    (0.2 > 0.005), by sum dog (0.59 > 0.2)."""
    return logits_from({404: 0.2, **{i: 0.005 for i in IMAGENET_INDICES["dog"]}})


def mean_vs_max():
    """Bear's 4 classes at 0.1 each (mean 0.1); bicycle's 444 at 0.15 and 671 at ~0 (mean 0.075):
    by mean bear, by max bicycle."""
    return logits_from({**{i: 0.1 for i in IMAGENET_INDICES["bear"]}, 444: 0.15, 671: 1e-9})


def test_the_decision_is_the_category_with_the_highest_mean_probability():
    logits = torch.stack([mean_vs_sum(), mean_vs_max()]).float()
    probs = logits.double().softmax(dim=1)
    means = category_probabilities(logits)
    assert means[0, POS["airplane"]].item() == pytest.approx(0.2, rel=1e-5)
    assert means[0, POS["dog"]].item() == pytest.approx(0.005, rel=1e-5)
    assert means[1, POS["bicycle"]].item() == pytest.approx(0.075, rel=1e-5)
    # the cases discriminate: sum and max would decide otherwise
    sums = torch.stack([probs[:, list(IMAGENET_INDICES[c])].sum(dim=1) for c in CATEGORIES], dim=1)
    maxes = torch.stack([probs[:, list(IMAGENET_INDICES[c])].max(dim=1).values for c in CATEGORIES], dim=1)
    assert CATEGORIES[sums[0].argmax()] == "dog" and CATEGORIES[maxes[1].argmax()] == "bicycle"
    assert [CATEGORIES[i] for i in decide(logits)] == ["airplane", "bear"]


def test_metric_state_is_small_additive_and_exact():
    assert METRICS.get("cue_conflict").applies_to(get_suite("cue-conflict"))
    imagenet_metrics = MetricSet(None, get_suite("imagenet")).names  # other metrics may join it, not this one
    assert {"accuracy", "nll", "calibration"} <= set(imagenet_metrics) and "cue_conflict" not in imagenet_metrics
    assert MetricSet(get_suite("cue-conflict").metrics, get_suite("cue-conflict")).names == ["cue_conflict"]
    metric_set = MetricSet(["cue_conflict"])
    assert metric_set.fields == {"n": (), "cue_decisions": (16, 16), "cue_conflict": (16, 3)}
    rows = [(mean_vs_sum(), "airplane/airplane1-dog3.png"),  # airplane: its shape
            (mean_vs_max(), "bicycle/bicycle2-bear1.png"),  # bear: its texture
            (mean_vs_max(), "bear/bear1-bear2.png"),  # bear, no conflict: dropped from shape bias
            (mean_vs_sum(), "knife/knife4-cat1.png")]  # airplane: neither
    logits = torch.stack([r[0] for r in rows]).float()
    keys = [r[1] for r in rows]
    target = torch.zeros(4, dtype=torch.long)
    whole = metric_set.new()
    whole.update(logits, target, full_logits=logits, keys=keys)
    parts = [metric_set.new(), metric_set.new()]
    parts[0].update(logits[:1], target[:1], full_logits=logits[:1], keys=keys[:1])
    parts[1].update(logits[1:], target[1:], full_logits=logits[1:], keys=keys[1:])
    merged = parts[0].merge(parts[1])
    assert merged.state_dict() == whole.state_dict()
    restored = metric_set.restore(json.loads(json.dumps(whole.state_dict())))
    values = restored.compute()
    # conflict images: airplane (shape), bicycle (texture), knife (neither); N_all = 4
    assert values["shape_bias"] == 0.5 and values["shape_bias_pct"] == 50.0
    assert values["frac_shape"] == 0.25 and values["frac_texture"] == 0.25 and values["n_conflict"] == 3
    assert values["top1_16"] == 50.0  # airplane and bear right, bicycle and knife wrong
    table = whole.state["cue_conflict"]
    assert table[POS["airplane"]].tolist() == [1, 1, 0] and table[POS["bicycle"]].tolist() == [1, 0, 1]
    assert table[POS["bear"]].tolist() == [0, 0, 0] and table[POS["knife"]].tolist() == [1, 0, 0]
    assert whole.state["cue_decisions"][POS["knife"], POS["airplane"]] == 1


def test_the_pure_function_needs_no_torch():
    code = ("import sys; from robench.metrics import shape_bias; "
            "r = shape_bias(['cat', 'dog'], ['dog', 'dog'], ['cat', 'dog']); assert r.shape_bias == 1.0; "
            "import robench.metrics.cue_conflict; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "False"


# --- generated stand-ins through the CLI ---------------------------------------------------------------
@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """`robench data synth D --suite cue-conflict --size 32` and the colour oracle's record on it."""
    base = tmp_path_factory.mktemp("cue")
    data, out = base / "data", base / "out"
    runner = CliRunner()
    made = runner.invoke(cli, ["data", "synth", str(data), "--suite", "cue-conflict", "--size", "32"])
    assert made.exit_code == 0, made.output
    assert "wrote 80 images in the cue-conflict layout" in made.output
    result = runner.invoke(cli, ["eval", "-m", ORACLE, "-s", "cue-conflict", "-r", str(data), "-o", str(out),
                                 "-j", "0", "--no-progress"])
    assert result.exit_code == 0, result.output
    return data, out, read_record(out / "colour_oracle" / "cue-conflict.json"), result.output


def test_generated_stimuli_give_the_exact_shape_bias(evaluated):
    data, _, record, output = evaluated
    assert "cue-conflict" in suite_names()
    (variant,) = record["variants"]
    m = variant["metrics"]
    # 16 categories x 5 images; image j of category a has texture a + j (j = 0: no conflict) and carries the
    # colour of its texture for 1 <= j <= a % 3, of a third category for j = a % 3 + 1, else of its shape:
    # per category 3, 2 or 1 shape and 0, 1 or 2 texture decisions (a % 3 = 0 for 6 categories, 1 and 2 for 5).
    assert m["n_conflict"] == 64
    assert m["shape_bias"] == 33 / 48 == 0.6875 and m["shape_bias_pct"] == 68.75
    assert m["frac_shape"] == 33 / 80 and m["frac_texture"] == 15 / 80
    assert m["top1_16"] == 100.0 * 49 / 80  # the 33 shape decisions and the 16 images without conflict
    assert shape_bias(*expected_generated()).shape_bias == m["shape_bias"]  # the pure function agrees
    per_category = record["aggregates"]["shape_bias_by_category"]
    assert per_category == {c: [1.0, 2 / 3, 1 / 3][i % 3] for i, c in enumerate(CATEGORIES)}
    assert record["metric_set"]["metrics"] == ["cue_conflict"] and record["suite"]["label_subset"] is None
    assert record["suite"]["data_origin"] == "generated" and record["suite"]["stored_size"] == 32
    assert record["aggregates"]["preprocessing"]["crop"] is False
    assert json.loads((data / "robench-generated.json").read_text())["size"] == 32
    assert "68.75" in output  # the eval summary shows the metric's values
    (v,) = get_suite("cue-conflict").variants(data)
    labels = {key: label for key, _, label in v.source.iter_range(0, len(v))}
    assert labels["airplane/airplane2-bear1.png"] == 404 and labels["dog/dog1-dog11.png"] == 152
    assert v.resize is False and v.n_official == 1280 and v.stored_size == 32


def test_generated_default_size_is_224(tmp_path):
    assert write_cue_conflict(str(tmp_path), n_classes=1, per_class=2) == 2
    with Image.open(tmp_path / "airplane" / "airplane2-bear1.png") as img:
        assert img.size == (224, 224) and img.mode == "RGB"
    assert json.loads((tmp_path / "robench-generated.json").read_text())["size"] == 224
    assert get_suite("cue-conflict").variants(tmp_path)[0].stored_size == 224


def test_leaderboard_column_table_and_plot(evaluated, tmp_path):
    from robench.leaderboard import generate

    _, out, _, _ = evaluated
    board = generate(str(out), os.path.join(REPO, "tests", "data", "leaderboard", "reported.csv"),
                     str(tmp_path / "README.md"))
    text = board.markdown
    assert "Shape bias ↑" in text and "model-vs-human" in text  # the column and its footnote
    row = next(line for line in text.splitlines() if line.startswith("| colour_oracle") and "68.8" in line)
    assert "measured" in row
    assert "### Cue-conflict shape bias per category" in text
    detail = text.split("### Cue-conflict shape bias per category", 1)[1]
    table_row = next(line for line in detail.splitlines() if line.startswith("| colour_oracle"))
    assert [c.strip() for c in table_row.strip("|").split("|")][1:5] == ["68.8", "100.0", "66.7", "33.3"]
    (plot,) = [f.plot for f in board.plots if f.filename.endswith("cue-conflict-categories.png")]
    assert plot.kind == "bars" and list(plot.data.columns) == list(CATEGORIES)
    assert plot.data.loc["colour_oracle", "bear"] == pytest.approx(200 / 3)


# --- layout errors ------------------------------------------------------------------------------------------
def test_a_wrong_size_image_is_named(evaluated, tmp_path):
    data, _, _, _ = evaluated
    root = tmp_path / "data"
    shutil.copytree(data, root)
    odd = root / "cat" / "cat3-chair8.png"
    Image.new("RGB", (33, 32)).save(odd)
    result = CliRunner().invoke(cli, ["eval", "-m", ORACLE, "-s", "cue-conflict", "-r", str(root), "-o",
                                      str(tmp_path / "out"), "-j", "0", "--no-progress"])
    assert result.exit_code == 2 and odd.name in result.output and "33x32" in result.output


def test_layout_errors_name_the_problem(evaluated, tmp_path):
    suite = get_suite("cue-conflict")
    with pytest.raises(DatasetLayoutError) as info:
        suite.variants(tmp_path)
    assert str(tmp_path) in str(info.value) and "expected" in str(info.value) and "<shape>" in str(info.value)
    data, _, _, _ = evaluated
    nested = tmp_path / "root" / "cue-conflict"  # <root>/cue-conflict/... is found too
    shutil.copytree(data, nested)
    assert len(suite.variants(tmp_path / "root")[0]) == 80
    (nested / "zebra").mkdir()
    shutil.copy(nested / "cat" / "cat1-cat8.png", nested / "zebra" / "zebra1-cat1.png")
    with pytest.raises(DatasetLayoutError, match="'zebra' is not one of the 16 cue-conflict categories"):
        suite.variants(tmp_path / "root")
    shutil.rmtree(nested / "zebra")
    shutil.copy(nested / "cat" / "cat1-cat8.png", nested / "cat" / "cat9-stripes1.png")
    with pytest.raises(DatasetLayoutError, match="cat9-stripes1.png"):
        suite.variants(tmp_path / "root")


def test_saved_state_that_does_not_add_up_is_refused():
    metric = METRICS.get("cue_conflict")()
    metric_set = MetricSet(["cue_conflict"])
    state = metric_set.new()
    logits = mean_vs_sum()[None].float()
    state.update(logits, torch.zeros(1, dtype=torch.long), full_logits=logits, keys=["airplane/airplane1-dog3.png"])
    assert metric.problem(state.state, 1) == ""
    assert "not 2" in metric.problem(state.state, 2)
    state.state["cue_conflict"][POS["airplane"], 2] += 1  # shape and texture hits beyond the images
    assert "exceed" in metric.problem(state.state, 1)


def test_shards_and_merged_tasks_give_the_same_record(evaluated, tmp_path):
    """The state is a sum: a shard set read in odd batches, split in 3 job-array tasks and merged, gives the
    one-process record's counts, values and per-category aggregates."""
    data, _, record, _ = evaluated
    runner = CliRunner()
    shards = tmp_path / "shards"
    packed = runner.invoke(cli, ["data", "shard", "cue-conflict", str(data), str(shards), "--shard-size", "7",
                                 "--no-progress"])
    assert packed.exit_code == 0, packed.output
    out = tmp_path / "tasks"
    for i in range(3):
        result = runner.invoke(cli, ["eval", "-m", ORACLE, "-s", "cue-conflict", "-r", str(shards), "-o", str(out),
                                     "-b", "5", "-j", "0", "--no-progress", "--task", f"{i}/3"])
        assert result.exit_code == 0, result.output
    merged = runner.invoke(cli, ["merge", str(out)])
    assert merged.exit_code == 0, merged.output
    again = read_record(out / "colour_oracle" / "cue-conflict.json")
    for field in ("metrics", "state"):
        assert again["variants"][0][field] == record["variants"][0][field]
    assert again["aggregates"]["shape_bias_by_category"] == record["aggregates"]["shape_bias_by_category"]
