"""What the per-sample store and the bootstrap cost (issue 21).

1. Eval slowdown: the same `robench eval` (a timm test model, generated ImageNet-R at 64 px, CPU)
   with and without --save-predictions, best of --repeats runs each, printed side by side as a ratio.
2. A 1,000-draw paired bootstrap of mCE over 3.75M predictions (75 ImageNet-C cells x 50,000 images,
   synthetic correctness), through the report's own path (robench.stats.records.column_draws), and
   the matrix products alone (robench.stats.bootstrap_counts).
3. The store's size per 50,000 images (bytes of the parquet file per row, from run 1, scaled).

    .venv/bin/python benchmarks/stats_overhead.py [--images 600] [--repeats 3] [--draws 1000]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def eval_seconds(root, out, store, model, size):
    args = [sys.executable, "-m", "robench.cli", "eval", "-m", model, "-s", "imagenet-r", "-r", root, "-o", out,
            "--input-size", str(size), "-j", "1", "--no-progress", "--progress-every", "0"]
    start = time.perf_counter()
    subprocess.run(args + (["--save-predictions"] if store else []), check=True, capture_output=True)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--model", default="test_resnet@random", help="e.g. resnet18@random (a realistic size)")
    parser.add_argument("--input-size", type=int, default=64, help="e.g. 224 with --model resnet18@random")
    parser.add_argument("--skip-eval", action="store_true", help="only the bootstrap timings")
    opts = parser.parse_args()
    from robench.datasets import get_suite

    with tempfile.TemporaryDirectory() as tmp:
        if opts.skip_eval:
            return bootstrap(opts)
        root = os.path.join(tmp, "r")
        get_suite("imagenet-r").write_generated(root, n_classes=20, per_class=max(1, opts.images // 20),
                                                size=max(64, opts.input_size))
        times = {False: [], True: []}
        for r in range(opts.repeats):
            for store in (False, True):
                times[store].append(eval_seconds(root, os.path.join(tmp, f"out-{store}-{r}"), store, opts.model,
                                                 opts.input_size))
        plain, stored = min(times[False]), min(times[True])
        print(f"eval, {opts.images} images, {opts.model} at {opts.input_size} px: without store {plain:.2f} s, with store {stored:.2f} s, "
              f"ratio {stored / plain:.3f} (best of {opts.repeats}; includes start-up and model load)")
        path = os.path.join(tmp, "out-True-0")
        files = [os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs if f.endswith(".predictions.parquet")]
        rows = 20 * max(1, opts.images // 20)
        size = sum(os.path.getsize(f) for f in files)
        print(f"store: {size / rows:.1f} bytes per image -> {size / rows * 50_000 / 1e6:.2f} MB per 50,000 images")
    per_batch(opts)
    bootstrap(opts)


def per_batch(opts, batch=64, repeats=20):
    """The store's own per-batch work (``sample_columns`` on the scores the metrics already computed) beside
    the model's forward pass on the same batch, timed in one process, alternating, so that other load on
    the machine hits both alike."""
    import torch

    from robench.metrics.base import MetricSet, Scores
    from robench.metrics.samples import sample_columns
    from robench.models import load_model

    model = load_model(opts.model).module.eval()
    metric_set = MetricSet(["accuracy", "nll", "calibration", "top1_all_classes"])
    x = torch.randn(batch, 3, opts.input_size, opts.input_size)
    target = torch.randint(0, 1000, (batch,))
    forward, store = [], []
    with torch.no_grad():
        logits = model(x)
        sample_columns(Scores(logits, target), metric_set)  # first calls: torch's one-time set-up, not the store's
        for _ in range(repeats):
            start = time.perf_counter()
            logits = model(x)
            forward.append(time.perf_counter() - start)
            scores = Scores(logits, target)
            state = metric_set.new()
            state.update(logits, target)
            scores.probs, scores.log_probs, scores.top5, scores.confidence_and_prediction  # the metrics' share
            start = time.perf_counter()
            sample_columns(scores, metric_set)
            store.append(time.perf_counter() - start)
    f, s = np.median(forward), np.median(store)
    print(f"per batch of {batch}: forward {1e3 * f:.1f} ms, the store's columns {1e3 * s:.2f} ms "
          f"({100 * s / f:.3f}% of the forward; medians of {repeats})")


def bootstrap(opts):
    from robench.datasets import get_suite as suite_of
    from robench.metrics.imagenet_c import corruption_set
    from robench.stats import bootstrap_counts
    from robench.stats.record_intervals import record_intervals
    from robench.stats.records import column_draws, drawn_variants, resampled_counts

    rng, n = np.random.default_rng(0), 50_000
    cs = corruption_set()
    keys = [f"n{k % 1000:08d}/ILSVRC2012_val_{k:08d}.JPEG" for k in range(n)]
    variants, names, labels, tops = [], [], [], []
    for c in cs.benchmark:
        for s in (1, 2, 3, 4, 5):
            hit = rng.random(n) < 0.8 - 0.1 * s
            c1 = float(hit.sum())
            variants.append({"name": f"imagenet-c/{c}/{s}", "corruption": c, "severity": s,
                             "metrics": {"top1": 100 * c1 / n, "top5": 100 * c1 / n, "error": 100 - 100 * c1 / n},
                             "state": {"n": float(n), "correct1": c1, "correct5": c1}})
            names += [f"imagenet-c/{c}/{s}"] * n
            labels.append(np.where(hit, 0, 7).astype(np.int32))
            tops.append(np.tile(np.arange(5, dtype=np.int32), (n, 1)))
    store = {"variant": names, "key": keys * len(variants), "label": np.concatenate(labels),
             "top5_class": np.concatenate(tops)}
    record = {"suite": {"name": "imagenet-c"}, "metric_set": {"metrics": ["accuracy"]}, "variants": variants,
              "model": {"name": "m"}, "run": {}}
    record["aggregates"] = suite_of("imagenet-c").aggregates(variants)
    correct = np.stack([l == 0 for l in labels], axis=1).astype(np.float64)
    start = time.perf_counter()
    bootstrap_counts(correct, opts.draws, 0)
    counts_s = time.perf_counter() - start
    start = time.perf_counter()
    draws = column_draws(record, store, draws=opts.draws, seed=0)
    total_s = time.perf_counter() - start
    assert np.isfinite(draws["imagenet_c_mce"]).all()
    start = time.perf_counter()
    resampled = resampled_counts(record, store, opts.draws, 0)
    setup_s = time.perf_counter() - start
    print(f"bootstrap of mCE, {opts.draws} draws over {len(store['label']):,} predictions: {total_s:.1f} s in all "
          f"(the resampled states with grouping by variant and image ids: {setup_s:.1f} s, of which the matrix "
          f"products {counts_s:.1f} s; the rest: per-draw metrics, aggregates and columns)")
    start = time.perf_counter()
    for d in range(opts.draws):
        suite_of("imagenet-c").aggregates(drawn_variants(record, resampled, d))
    per_draw_s = time.perf_counter() - start
    start = time.perf_counter()
    section = record_intervals(record, store, draws=opts.draws, seed=0)
    record_s = time.perf_counter() - start
    assert "mce" in section["aggregates"]["values"]
    print(f"record intervals at write time (75 cells' Clopper-Pearson + {opts.draws}-draw bootstrap of every "
          f"aggregate): {record_s:.1f} s; the per-draw aggregate recomputation alone {per_draw_s:.1f} s")


if __name__ == "__main__":
    main()
