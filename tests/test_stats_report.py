"""Intervals on records and reports: Clopper-Pearson from counts (old records too), the paired bootstrap
of ImageNet-C's mCE checked against a plain loop, and `robench report --intervals --compare` with
McNemar's test against scipy."""
import os

import numpy as np
import pytest
from scipy.stats import binomtest

from engine_support import in_process
from robench.metrics import mce
from robench.metrics.imagenet_c import corruption_set
from robench.results import stable_hash
from robench.stats import clopper_pearson, percentile_interval
from robench.stats import records as R

N = 40  # images per cell


def _imagenet_c(rng):
    """A JSON-ready imagenet-c record of 19 x 5 cells on the same N images, and its per-sample store."""
    from robench.datasets import get_suite

    keys = [f"n{k:08d}/ILSVRC2012_val_{k:08d}.JPEG" for k in range(N)]
    variants, store = [], {"variant": [], "key": [], "label": [], "top5_class": []}
    cs = corruption_set()
    for corruption in [*cs.benchmark, *cs.extra]:
        for severity in (1, 2, 3, 4, 5):
            name = f"imagenet-c/{corruption}/{severity}"
            hit = rng.random(N) < 0.75 - 0.1 * severity
            top = np.tile(np.arange(5, dtype=np.int32), (N, 1))
            label = np.where(hit, 0, 7).astype(np.int32)
            c1 = float(hit.sum())
            variants.append({"name": name, "corruption": corruption, "severity": severity, "n_images": N,
                             "n_official": None, "n_seen": N, "skipped": [],
                             "metrics": {"top1": 100 * c1 / N, "top5": 100 * c1 / N, "error": 100 - 100 * c1 / N},
                             "state": {"n": float(N), "correct1": c1, "correct5": c1}})
            store["variant"] += [name] * N
            store["key"] += [f"{corruption}/{severity}/{k}" for k in keys]
            store["label"].append(label)
            store["top5_class"].append(top)
    store["label"], store["top5_class"] = np.concatenate(store["label"]), np.concatenate(store["top5_class"])
    record = {"suite": {"name": "imagenet-c"}, "metric_set": {"metrics": ["accuracy"]}, "variants": variants,
              "model": {"name": "m"}, "run": {}}
    record["aggregates"] = get_suite("imagenet-c").aggregates(variants)
    return record, store, keys


def test_mce_bootstrap_equals_a_plain_loop():
    record, store, keys = _imagenet_c(np.random.default_rng(0))
    draws = R.column_draws(record, store, draws=60, seed=5)
    assert "imagenet_c_mce" in draws
    # the plain loop: one draw of image ids per bootstrap draw, shared by all 95 cells
    rng = np.random.default_rng([5, int(stable_hash(list(keys)), 16)])
    hits = {v["name"]: (store["top5_class"][np.asarray(store["variant"]) == v["name"], 0]
                        == store["label"][np.asarray(store["variant"]) == v["name"]]) for v in record["variants"]}
    cs = corruption_set()
    for d in range(60):
        ids = rng.integers(0, N, size=N)
        errors = {c: [1 - hits[f"imagenet-c/{c}/{s}"][ids].mean() for s in (1, 2, 3, 4, 5)] for c in cs.benchmark}
        assert abs(draws["imagenet_c_mce"][d] - mce(errors)) < 1e-9
    low, high = percentile_interval(draws["imagenet_c_mce"])
    assert low < record["aggregates"]["mce"] < high


def test_count_intervals_need_no_store():
    variant = {"name": "imagenet-r/all", "metrics": {"top1": 46.0, "top5": 70.0, "error": 54.0},
               "state": {"n": 30000.0, "correct1": 13800.0, "correct5": 21000.0}}
    got = R.variant_intervals(variant)
    low, high = clopper_pearson(13800, 30000)
    assert got["top1"] == pytest.approx((100 * low, 100 * high), abs=1e-9)
    assert got["error"] == pytest.approx((100 - 100 * high, 100 - 100 * low), abs=1e-9)
    assert 0.55 < (got["top1"][1] - got["top1"][0]) / 2 < 0.58


@pytest.fixture(scope="module")
def two_models(tmp_path_factory):
    from robench.datasets import get_suite

    base = tmp_path_factory.mktemp("ci")
    get_suite("imagenet-r").write_generated(str(base / "r"), n_classes=6, per_class=5, size=32)
    out = base / "out"
    in_process(["eval", "-m", "A=test_resnet@random", "-m", "B=test_efficientnet@random", "--input-size", "32",
                "-s", "imagenet-r", "-r", str(base / "r"), "-o", str(out), "-j", "0", "--no-progress",
                "--save-predictions"])
    return out


def test_report_shows_intervals_and_paired_comparison(two_models):
    import pandas as pd

    from robench import report, report_compare

    text = in_process(["report", str(two_models), "--intervals"]).output
    assert "±" in text and "Clopper-Pearson" in text
    frame = report.report_frame(str(two_models), intervals=True)
    stores = {m: pd.read_parquet(os.path.join(two_models, m, "imagenet-r.predictions.parquet")) for m in "AB"}
    hits = {m: np.stack(f["top5_class"].to_numpy())[:, 0] == f["label"].to_numpy() for m, f in stores.items()}
    section = frame["section"].iloc[0]
    low, high, method = frame.attrs["intervals"][(section, "A", "imagenet_r_top1")]
    cp = clopper_pearson(int(hits["A"].sum()), len(hits["A"]))
    assert (low, high) == pytest.approx((100 * cp[0], 100 * cp[1]), abs=1e-9) and "Clopper-Pearson" in method
    csv = in_process(["report", str(two_models), "--intervals", "--format", "csv"]).output
    assert "imagenet_r_top1_low,imagenet_r_top1_high" in csv.splitlines()[0]

    comparison = report_compare.compare(frame, "A", "B")
    row = comparison[comparison["column"] == "imagenet_r_top1"].iloc[0]
    assert row["b_minus_a_low"] <= row["b_minus_a"] <= row["b_minus_a_high"]
    draws = frame.attrs["draws"]
    diff = draws[(section, "B", "imagenet_r_top1")] - draws[(section, "A", "imagenet_r_top1")]
    assert (row["b_minus_a_low"], row["b_minus_a_high"]) == percentile_interval(diff)
    (test,) = comparison.attrs["per_variant"].itertuples()
    a_only, b_only = int(np.sum(hits["A"] & ~hits["B"])), int(np.sum(~hits["A"] & hits["B"]))
    assert (test.a_only, test.b_only) == (a_only, b_only)
    want = 1.0 if a_only + b_only == 0 else binomtest(a_only, a_only + b_only, 0.5).pvalue
    assert abs(test.mcnemar_p - want) < 1e-9
    text = in_process(["report", str(two_models), "--intervals", "--compare", "A", "B"]).output
    assert "95% paired CI" in text and "McNemar" in text and "error consistency" in text
