"""ImageNet-R/A (and their clean twins) scored both ways: the standard top-1 over the suite's 200
classes (``top1``) and the 1000-way top-1 (``top1_1000way``: argmax over all 1000 logits, a prediction
outside the 200 is wrong), both in records and side by side in the leaderboard's detail table."""
import json
import os

import pytest
import torch

from robench.datasets import get_suite
from robench.engine import EvalOptions, evaluate_suite
from robench.engine.scoring import Scorer
from robench.labels import subset_indices
from robench.leaderboard import generate
from robench.metrics.base import METRICS, MetricSet
from robench.models.oracle import ColourOracle
from robench.results import read_record

from engine_support import markdown_rows

FAST = EvalOptions(batch_size=4, workers=0, progress=False)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPORTED = os.path.join(REPO, "tests", "data", "leaderboard", "reported.csv")
ACORN = 988  # in both ImageNet-R's and ImageNet-A's 200 classes


class PrefersTench(ColourOracle):
    """Right about the class among the 200, but its maximum is on tench (class 0, in neither subset):
    for every image, or (``only``) for images of those classes."""

    def __init__(self, only=None):
        super().__init__()
        self.only = only

    def forward(self, x):
        logits = super().forward(x)
        hit = torch.ones(len(x), dtype=torch.bool) if self.only is None else torch.isin(
            logits.argmax(dim=1), torch.tensor(self.only))
        logits[hit, 0] = 20.0
        return logits


def prefers_tench():
    return PrefersTench()


def prefers_tench_on_acorns():
    return PrefersTench(only=[ACORN])


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("both-ways")
    get_suite("imagenet-r").write_generated(str(root / "r"), labels=[1, 2, ACORN], per_class=2, size=40)
    get_suite("imagenet-a").write_generated(str(root / "a"), labels=[6, 11, ACORN], per_class=2, size=40)
    get_suite("imagenet-val-r200").write_generated(str(root / "val_r"), labels=[1, 2, ACORN], per_class=2, size=40)
    return root


def _only_variant(path):
    (variant,) = read_record(path)["variants"]
    return variant


def test_the_metric_is_registered_for_the_200_class_suites_only():
    assert "top1_all_classes" in METRICS.names()
    for name in ("imagenet-r", "imagenet-a", "imagenet-val-r200", "imagenet-val-a200"):
        assert "top1_all_classes" in MetricSet(suite=get_suite(name)).names, name
    for name in ("imagenet", "stylized-imagenet", "imagenet-sketch", "imagenet-v2", "imagenet-c"):
        assert "top1_all_classes" not in MetricSet(suite=get_suite(name)).names, name


def test_scorer_counts_exact_fractions_and_states_add_up():
    """Three of four images are right among the 200; one of those three has its global maximum outside."""
    cols = subset_indices("imagenet_r")
    outside = next(i for i in range(1000) if i not in set(cols))
    labels = torch.tensor([cols[0], cols[1], cols[2], cols[3]])
    logits = torch.zeros(4, 1000)
    logits[0, cols[0]] = 5  # right both ways
    logits[1, cols[1]] = 5  # right both ways
    logits[2, cols[2]], logits[2, outside] = 5, 9  # right among the 200, wrong 1000-way
    logits[3, cols[0]] = 5  # wrong both ways
    metric_set = MetricSet(["accuracy", "top1_all_classes"])
    whole, parts = metric_set.new(), [metric_set.new(), metric_set.new()]
    scorer = Scorer("imagenet_r")
    scorer.update(whole, logits, labels)
    scorer.update(parts[0], logits[:3], labels[:3])
    scorer.update(parts[1], logits[3:], labels[3:])
    values = whole.compute()
    assert values["top1"] == 100.0 * 3 / 4 and values["top1_1000way"] == 100.0 * 2 / 4
    assert whole.state["correct1_1000way"].item() == 2.0
    assert parts[0].merge(parts[1]).state_dict() == whole.state_dict()  # additive: tasks, ranks, cells
    metric = METRICS.get("top1_all_classes")()  # saved state that cannot be a count is refused on resume
    assert metric.problem(whole.state, 4) == ""
    assert "not a count" in metric.problem({"correct1_1000way": torch.tensor(2.5, dtype=torch.float64)}, 4)
    assert "not a count" in metric.problem({"correct1_1000way": torch.tensor(5.0, dtype=torch.float64)}, 4)


def test_imagenet_r_global_maximum_outside_the_200_is_right_masked_and_wrong_1000_way(data, tmp_path):
    (path,) = evaluate_suite(["test_subset_both_ways:prefers_tench"], "imagenet-r", str(data / "r"), str(tmp_path),
                       options=FAST)
    variant = _only_variant(path)
    assert variant["metrics"]["top1"] == 100.0
    assert variant["metrics"]["top1_1000way"] == 0.0
    assert variant["state"]["correct1"] == 6.0 and variant["state"]["correct1_1000way"] == 0.0
    record = read_record(path)
    assert record["metric_set"]["metrics"][-1] == "top1_all_classes"


@pytest.mark.parametrize("suite,folder", [("imagenet-r", "r"), ("imagenet-a", "a"), ("imagenet-val-r200", "val_r")])
def test_a_mixed_model_gives_an_exact_fraction(data, tmp_path, suite, folder):
    """Tench wins only on the two acorn images of six: 200-way all right, 1000-way four of six."""
    (path,) = evaluate_suite(["test_subset_both_ways:prefers_tench_on_acorns"], suite, str(data / folder),
                       str(tmp_path), options=FAST)
    variant = _only_variant(path)
    assert variant["metrics"]["top1"] == 100.0
    assert variant["metrics"]["top1_1000way"] == 100.0 * 4 / 6
    assert variant["state"]["correct1_1000way"] == 4.0 and variant["state"]["n"] == 6.0


def test_leaderboard_detail_table_shows_both_numbers(data, tmp_path):
    entries = tmp_path / "entries"
    for spec in ("always=test_subset_both_ways:prefers_tench", "acorns=test_subset_both_ways:prefers_tench_on_acorns",
                 "oracle=robench.models.oracle:colour_oracle"):
        evaluate_suite([spec], "imagenet-r", str(data / "r"), str(entries), options=FAST)
    board = generate(str(entries), REPORTED, str(tmp_path / "README.md"))
    markdown = board.markdown
    assert "### ImageNet-R: 200-class vs 1000-way top-1" in markdown
    assert "pytorch-image-models issue 2456" in markdown and "natural-adv-examples PR 15" in markdown
    rows = {r["Model"]: r for r in markdown_rows(markdown) if "top-1, 1000-way ↑" in r}
    assert set(rows) == {"always", "acorns", "oracle"}
    assert (rows["always"]["top-1, 200 classes (masked) ↑"], rows["always"]["top-1, 1000-way ↑"],
            rows["always"]["difference (points)"]) == ("100.0", "0.0", "100.0")
    assert (rows["acorns"]["top-1, 200 classes (masked) ↑"], rows["acorns"]["top-1, 1000-way ↑"],
            rows["acorns"]["difference (points)"]) == ("100.0", "66.7", "33.3")
    assert rows["oracle"]["top-1, 1000-way ↑"] == "100.0"
    # the main table keeps the masked number
    main = {r["Model"]: r for r in markdown_rows(markdown, footnotes=False) if "ImageNet-R ↑" in r}
    # 6 of 6 right: Clopper-Pearson [0.025 ** (1/6), 1] = [54.1, 100], half-width 23.0; tied with the others' 100.0
    assert main["always"]["ImageNet-R ↑"] == "**100.0** ± 23.0 ≈"


def test_records_made_before_the_metric_get_no_both_ways_table():
    with open(os.path.join(REPO, "tests", "data", "leaderboard", "entries", "robust_resnet_up_inverted_dw_small",
                           "imagenet-r.json")) as f:
        old = json.load(f)
    suite = get_suite("imagenet-r")
    assert suite.detail_tables([("rr", old, {})]) == []
    new = json.loads(json.dumps(old))
    for v in new["variants"]:
        v["state"]["correct1_1000way"] = v["state"]["correct1"] - 2999
    (table,) = suite.detail_tables([("rr", new, {})])
    row = table.frame.iloc[0]
    n = new["variants"][0]["state"]["n"]
    assert row["top-1, 200 classes (masked) ↑"] == 100.0 * new["variants"][0]["state"]["correct1"] / n
    assert row["top-1, 1000-way ↑"] == 100.0 * (new["variants"][0]["state"]["correct1"] - 2999) / n
