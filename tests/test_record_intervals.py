"""Intervals in records: each variant's Clopper-Pearson interval from its counts and the aggregates'
paired bootstrap from the per-sample store, written with the record (eval, merge, rescore), read back
and validated; records from before the section get the count-based part on read."""
import json
import os

import numpy as np
import pytest
from scipy.stats import binomtest

from engine_support import in_process, load
from robench.errors import RecordError
from robench.metrics import mce
from robench.metrics.imagenet_c import corruption_set
from robench.results import Record, stable_hash
from robench.stats import percentile_interval
from robench.stats import record_intervals as RI
from test_stats_report import N, _imagenet_c


def test_the_aggregates_bootstrap_equals_a_plain_loop():
    record, store, keys = _imagenet_c(np.random.default_rng(1))
    section = RI.record_intervals(record, store, draws=80, seed=3)
    assert section["aggregates"]["method"] == "paired-bootstrap" and section["aggregates"]["draws"] == 80
    rng = np.random.default_rng([3, int(stable_hash(list(keys)), 16)])
    variant_of = np.asarray(store["variant"])
    hits = {v["name"]: store["top5_class"][variant_of == v["name"], 0] == store["label"][variant_of == v["name"]]
            for v in record["variants"]}
    cs, drawn, fog = corruption_set(), [], []
    for _ in range(80):
        ids = rng.integers(0, N, size=N)
        errors = {c: [1 - hits[f"imagenet-c/{c}/{s}"][ids].mean() for s in (1, 2, 3, 4, 5)] for c in cs.benchmark}
        drawn.append(mce(errors))
        fog.append(100 * np.mean(errors["fog"]))
    values = section["aggregates"]["values"]
    assert values["mce"] == pytest.approx(list(percentile_interval(drawn)), abs=1e-9)
    assert values["corruption_error"]["fog"] == pytest.approx(list(percentile_interval(fog)), abs=1e-9)
    assert values["mce"][0] < record["aggregates"]["mce"] < values["mce"][1]
    top1 = section["variants"]["values"]["imagenet-c/fog/3"]["top1"]
    k = int(record["variants"][[v["name"] for v in record["variants"]].index("imagenet-c/fog/3")]["state"]["correct1"])
    ci = binomtest(k, N).proportion_ci(0.95, method="exact")
    assert top1 == pytest.approx([100 * ci.low, 100 * ci.high], abs=1e-9)


def test_a_suite_without_aggregates_draws_nothing():
    record = {"suite": {"name": "imagenet-r"}, "metric_set": {"metrics": ["accuracy"]},
              "variants": [{"name": "imagenet-r/all", "metrics": {"top1": 50.0, "top5": 60.0, "error": 50.0},
                            "state": {"n": 4.0, "correct1": 2.0, "correct5": 3.0}}]}
    section = RI.record_intervals(record, {"variant": [], "key": []})
    assert "aggregates" not in section and set(section["variants"]["values"]["imagenet-r/all"]) == {"top1", "top5",
                                                                                                   "error"}


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    from robench.datasets.imagenet_c import write_imagenet_c

    base = tmp_path_factory.mktemp("record-intervals")
    write_imagenet_c(str(base / "c"), n_classes=3, per_class=2, size=32, corruptions=("gaussian_noise", "fog"))
    for out, extra in (("stored", ["--save-predictions"]), ("plain", [])):
        in_process(["eval", "-m", "test_resnet@random", "-o", str(base / out), "-j", "0", "--no-progress",
                    "--input-size", "32", "-s", "imagenet-c", "-r", str(base / "c"), "--select", "gaussian_noise,fog",
                    *extra])
    return base


def test_eval_writes_intervals_next_to_the_values(evaluated):
    stored = load(os.path.join(evaluated, "stored", "test_resnet", "imagenet-c.json"))
    plain = load(os.path.join(evaluated, "plain", "test_resnet", "imagenet-c.json"))
    assert stored["intervals"]["variants"] == plain["intervals"]["variants"]  # from the counts either way
    assert "aggregates" not in plain["intervals"]  # no store: no bootstrap
    boot = stored["intervals"]["aggregates"]
    assert (boot["draws"], boot["seed"], boot["resampled"]) == (1000, 0, "image ids")
    for corruption, (low, high) in boot["values"]["corruption_error"].items():
        assert low <= stored["aggregates"]["corruption_error"][corruption] <= high
    for v in stored["variants"]:
        low, high = stored["intervals"]["variants"]["values"][v["name"]]["top1"]
        assert low <= v["metrics"]["top1"] <= high


def test_rescore_rebuilds_the_same_intervals(evaluated, tmp_path):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(os.path.join(evaluated, "stored"), out)
    path = os.path.join(out, "test_resnet", "imagenet-c.json")
    before = load(path)
    in_process(["rescore", str(out)])
    assert load(path)["intervals"] == before["intervals"]


def test_an_old_record_loads_and_gets_intervals_from_its_counts(evaluated):
    record = load(os.path.join(evaluated, "plain", "test_resnet", "imagenet-c.json"))
    old = {k: v for k, v in record.items() if k != "intervals"}
    loaded = Record.from_json(json.loads(json.dumps(old))).to_json()
    assert "intervals" not in loaded  # read as it is, never invented on write
    assert RI.intervals_of(loaded) == record["intervals"]
    assert RI.intervals_of(loaded, level=0.9)["level"] == 0.9


@pytest.mark.parametrize("change, words", [({"version": 2}, "version 2"),
                                           ({"variants": {"method": "clopper-pearson",
                                                          "values": {"x": {"top1": [5, 1]}}}}, "x.top1")])
def test_a_bad_intervals_section_is_a_record_error(evaluated, change, words):
    record = load(os.path.join(evaluated, "plain", "test_resnet", "imagenet-c.json"))
    record["intervals"] = {**record["intervals"], **change}
    with pytest.raises(RecordError, match=words):
        Record.from_json(record, "r.json")
