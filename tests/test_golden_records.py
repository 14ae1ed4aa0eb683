"""Golden records: one record per suite, made by the real engine on generated data in each suite's
real layout (stand-ins for the released data sets, which cannot be downloaded here), compared field
by field with the records that robench wrote before the suites-as-plug-ins redesign.

The goldens in ``tests/data/golden/`` were written by the code before the redesign (commit
3d2e89b) with ``ROBENCH_WRITE_GOLDEN=1 pytest tests/test_golden_records.py``. What the redesign
changed on purpose is listed in ``CHANGED`` below, each with its reason; anything else that differs
fails the test.
"""
import json
import math
import os

import numpy as np
import pytest
from PIL import Image

from robench.datasets import get_suite
from robench.datasets.colour_code import make_image, write_class_folders
from robench.datasets.imagenet import write_imagenet
from robench.engine import EvalOptions, evaluate_suite
from robench.labels import imagenet_wnids
from robench.metrics.base import METRICS, MetricSet
from robench.results import read_record

ORACLE = "robench.models.oracle:colour_oracle"
GOLDEN = os.path.join(os.path.dirname(__file__), "data", "golden")
FAST = EvalOptions(batch_size=4, workers=0, progress=False)
# Clean twins first: before the redesign, R/A and ImageNet-C read their companions from the --out folder.
ORDER = ("imagenet", "imagenet-val-r200", "imagenet-val-a200", "imagenet-c", "stylized-imagenet",
         "imagenet-r", "imagenet-a", "imagenet-sketch", "imagenet-v2")
VOLATILE = ("created", "env", "robench_version")


def write_corruption_layout(root, corruptions, labels):
    """``root/<corruption>/<severity>/<wnid>/*.JPEG`` whose oracle errors vary by cell: in cell
    (i, s), the first (i + s) % 4 images carry the colour of the next class (wrong on purpose)."""
    from robench.datasets.base import write_generated_marker

    wnids = imagenet_wnids()
    for i, corruption in enumerate(corruptions):
        for s in range(1, 6):
            wrong = (i + s) % 4
            for k, label in enumerate(labels):
                folder = os.path.join(root, corruption, str(s), wnids[label])
                os.makedirs(folder, exist_ok=True)
                shown = label + 1 if k < wrong else label
                img = make_image(shown, np.random.default_rng([i, s, k]), 32, 32)
                img.save(os.path.join(folder, f"ILSVRC2012_val_{label:08d}.JPEG"), quality=90)
    write_generated_marker(root, generator="tests", size=32)


def write_data(root):
    """Every suite's layout under ``root/<suite>``."""
    from robench.metrics import imagenet_c

    labels_r, labels_a = [1, 2, 988], [6, 11, 988]
    write_imagenet(f"{root}/imagenet", n_classes=3, per_class=2, size=40)
    write_class_folders(f"{root}/imagenet-val-r200/val", labels_r, 2, size=40)
    write_class_folders(f"{root}/imagenet-val-a200/val", labels_a, 2, size=40)
    write_corruption_layout(f"{root}/imagenet-c", list(imagenet_c.benchmark_corruptions())
                            + list(imagenet_c.extra_corruptions()), [3, 500, 777, 999])
    get_suite("stylized-imagenet").write_generated(f"{root}/stylized-imagenet", labels=[0, 999, 500], per_class=2,
                                                   size=40)
    get_suite("imagenet-r").write_generated(f"{root}/imagenet-r", labels=labels_r, per_class=2, size=40)
    get_suite("imagenet-a").write_generated(f"{root}/imagenet-a", labels=labels_a, per_class=2, size=40)
    get_suite("imagenet-sketch").write_generated(f"{root}/imagenet-sketch", n_classes=3, per_class=2, size=40)
    get_suite("imagenet-v2").write_generated(f"{root}/imagenet-v2", labels=[2, 10, 100, 999], per_class=2, size=32)


def normalised(record):
    out = {k: v for k, v in record.items() if k not in VOLATILE}
    out["suite"] = {k: v for k, v in record["suite"].items() if k != "root"}
    return json.loads(json.dumps(out))


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    data, out = tmp_path_factory.mktemp("golden-data"), tmp_path_factory.mktemp("golden-out")
    write_data(str(data))
    made = {}
    for suite in ORDER:
        (path,) = evaluate_suite([ORACLE], suite, str(data / suite), str(out), options=FAST)
        made[suite] = normalised(read_record(path))
    if os.environ.get("ROBENCH_WRITE_GOLDEN"):
        os.makedirs(GOLDEN, exist_ok=True)
        for suite, record in made.items():
            with open(os.path.join(GOLDEN, f"{suite}.json"), "w") as f:
                json.dump(record, f, indent=1, sort_keys=True)
                f.write("\n")
    return made


def golden(suite):
    with open(os.path.join(GOLDEN, f"{suite}.json")) as f:
        return json.load(f)


# What the redesign changed on purpose (everything else must be equal):
JOINED = {"relative_mce", "relative_ce", "clean_error", "clean_subset_top1"}  # now joined at report time
AS_RELEASED = {"imagenet-c", "stylized-imagenet"}
GENERATED = {"imagenet", "imagenet-c", "stylized-imagenet", "imagenet-r", "imagenet-a", "imagenet-sketch",
             "imagenet-v2"}  # made by synth writers, which now all leave the generated-data marker
# the 200-class suites (and their clean twins) also record the 1000-way top-1 (robench.metrics.top1_all_classes)
BOTH_WAYS = {"imagenet-r", "imagenet-a", "imagenet-val-r200", "imagenet-val-a200"}
# the metrics whose state and values the goldens (or the changes below) account for
ACCOUNTED = ("accuracy", "nll", "calibration", "top1_all_classes")


def expected(suite, old, new):
    """The old golden with the intended changes applied."""
    want = json.loads(json.dumps(old))
    want["schema_version"] = 3  # the typed record's version
    # v3: the measurement's identity is `measurement_id` (was `protocol_hash`); it hashes the model's
    # weights_sha256 and state_dict_sha256 (was one checkpoint_sha256 of either kind), so its value is new
    want.pop("protocol_hash")
    assert len(new["measurement_id"]) == 16
    want["measurement_id"] = new["measurement_id"]
    sha = want["model"].pop("checkpoint_sha256")
    want["model"]["weights_sha256"], want["model"]["state_dict_sha256"] = sha, None  # a factory: no file, no hash
    want["suite"]["data_format"] = {"format": "folder"}  # new: how the data was held (folders, archives, ...)
    want["metric_set"] = new["metric_set"]  # new: the metric set the states were made with (checked below)
    want["run"]["task"] = want["run"].pop("shard")  # the job-array task; "shard" now means a tar shard only
    want["run"]["decoder"] = "cpu"  # new: where JPEGs were decoded (--decode cpu|gpu), part of the protocol
    for v in want["variants"]:
        # the counts were renamed because they lied: n_expected is the slice's size, n_reference the official one
        v["n_images"], v["n_official"] = v.pop("n_expected"), v.pop("n_reference")
        v.pop("protocol", None)  # "protocol" meant the data origin: now suite.data_origin, once per record
    want["suite"]["data_origin"] = "generated" if suite in GENERATED else "released"
    if suite in BOTH_WAYS:
        # new: the 1000-way top-1 beside the masked one. The colour oracle's maximum is always the true
        # class, so here it equals the masked top-1 (tests/test_subset_both_ways.py has models where not)
        for v in want["variants"]:
            v["state"]["correct1_1000way"] = v["state"]["correct1"]
            v["metrics"]["top1_1000way"] = v["metrics"]["top1"]
    for name in new["metric_set"]["metrics"]:
        if name not in ACCOUNTED:  # registered after the goldens: its state and values are checked elsewhere
            metric = METRICS.get(name)  # (tests/test_contracts.py, over every registered metric)
            for v, got in zip(want["variants"], new["variants"]):
                v["state"].update({field: got["state"][field] for field in metric.fields})
                v["metrics"].update({value.name: got["metrics"][value.name] for value in metric.values})
    # the data fingerprint now covers each file's size and modification time (an image replaced in place
    # is new data), so it differs with every generation of the test data: checked for form only
    assert len(new["suite"]["fingerprint"]) == 16
    want["suite"]["fingerprint"] = new["suite"]["fingerprint"]
    agg = want["aggregates"]
    for key in list(agg):
        if key in JOINED or key in ("clean_subset_suite", "protocol"):
            del agg[key]
    for key in list(agg.get("definitions", {})):
        if key in JOINED or key == "protocol":
            del agg["definitions"][key]
    if suite in ("imagenet-r", "imagenet-a"):  # their aggregates held only the joined value, its note and text
        agg.clear()
    # new: each variant's Clopper-Pearson intervals (robench.stats.record_intervals), here from scipy's
    # exact binomial interval over the golden's own counts (no store in these runs: no bootstrap section)
    want["intervals"] = golden_intervals(want)
    if suite in AS_RELEASED:
        # the stored size is now read from the data (the generated marker) instead of assumed to be 224
        size = 32 if suite == "imagenet-c" else 40
        want["suite"]["stored_size"] = size
        agg["preprocessing"]["stored_size"] = size
        agg["preprocessing"]["note"] = agg["preprocessing"]["note"].replace("224x224", f"{size}x{size}")
        # one definition of the no-resize account for every such suite (Stylized-ImageNet had its own wording)
        agg["definitions"]["preprocessing"] = new["aggregates"]["definitions"]["preprocessing"]
    return want


def golden_intervals(record):
    """The intervals section the golden's counts call for, from scipy's exact (Clopper-Pearson) interval."""
    from scipy.stats import binomtest

    def exact(k, n):
        ci = binomtest(int(round(k)), int(round(n))).proportion_ci(0.95, method="exact")
        return [float(ci.low), float(ci.high)]

    values = {}
    for v in record["variants"]:
        state, metrics, found = v["state"], v["metrics"], {}
        n = state["n"]
        for name, field in (("top1", "correct1"), ("top5", "correct5"), ("top1_1000way", "correct1_1000way")):
            if name in metrics and field in state:
                found[name] = [100 * x for x in exact(state[field], n)]
        if "error" in metrics:
            found["error"] = [100 * x for x in exact(n - state["correct1"], n)]
        if metrics.get("shape_bias") is not None:
            table = [state["cue_conflict"][i:i + 3] for i in range(0, len(state["cue_conflict"]), 3)]
            shape, texture = sum(r[1] for r in table), sum(r[2] for r in table)
            found["shape_bias"] = exact(shape, shape + texture)
            found["shape_bias_pct"] = [100 * x for x in found["shape_bias"]]
        if metrics.get("top1_16") is not None:
            flat = state["cue_decisions"]
            found["top1_16"] = [100 * x for x in exact(sum(flat[i * 17] for i in range(16)), sum(flat))]
        if found:
            values[v["name"]] = found
    return {"version": 1, "level": 0.95, "variants": {"method": "clopper-pearson", "values": values}}


@pytest.mark.parametrize("suite", ORDER)
def test_record_equals_golden(records, suite):
    new = records[suite]
    metrics = new["metric_set"]["metrics"]
    assert metrics == MetricSet(None, get_suite(suite)).names  # the suite's default set, whatever is registered
    assert {"accuracy", "nll", "calibration"} <= set(metrics)
    assert ("top1_all_classes" in metrics) == (suite in BOTH_WAYS)
    assert_same(new, expected(suite, golden(suite), new))


# Float32 sums (NLL, confidences) differ in their last bits between CPUs (the vectorised log-softmax of an
# AMD EPYC and of the machine that wrote the goldens disagree at 5e-7 relative, which ECE's difference of
# two near-equal percentages turns into 2e-5 points): floats are compared to FLOAT_RTOL or FLOAT_ATOL
# (percentage points or state units), everything else (counts, names, structure) exactly.
FLOAT_RTOL, FLOAT_ATOL = 1e-5, 1e-4


def assert_same(got, want, path="record"):
    if isinstance(want, float) or isinstance(got, float):
        assert isinstance(got, (int, float)) and not isinstance(got, bool), f"{path}: {got!r} is not a number"
        assert math.isclose(got, want, rel_tol=FLOAT_RTOL, abs_tol=FLOAT_ATOL), f"{path}: {got!r} != {want!r}"
    elif isinstance(want, dict):
        assert isinstance(got, dict) and sorted(got) == sorted(want), \
            f"{path}: keys {sorted(got) if isinstance(got, dict) else got!r} != {sorted(want)}"
        for key in want:
            assert_same(got[key], want[key], f"{path}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{path}: {got!r} != {want!r}"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{path}[{i}]")
    else:
        assert got == want and type(got) is type(want), f"{path}: {got!r} != {want!r}"


def test_the_comparison_sees_a_changed_count_and_a_changed_value():
    record = {"variants": [{"n_seen": 6, "state": {"nll_sum": 1.7341570854187012}}]}
    assert_same(json.loads(json.dumps(record)), record)
    for changed in ({"variants": [{"n_seen": 5, "state": {"nll_sum": 1.7341570854187012}}]},
                    {"variants": [{"n_seen": 6, "state": {"nll_sum": 1.75}}]},
                    {"variants": [{"n_seen": 6, "state": {}}]}):
        with pytest.raises(AssertionError):
            assert_same(changed, record)


@pytest.mark.parametrize("suite", ["imagenet-c", "imagenet-r", "imagenet-a"])
def test_joined_values_equal_what_records_held(records, suite):
    """Values that records held before the redesign are now joined at report time, and are equal."""
    from robench.joins import index_records, joined_values

    index = index_records(list(records.values()))
    got, old = joined_values(records[suite], index), golden(suite)["aggregates"]
    assert set(got) == JOINED & set(old)
    for key in got:
        assert got[key] == old[key], key
