"""Throughput of `robench eval` against a plain evaluation loop, in the same process.

The plain loop is built the way timm's validate.py builds one: torchvision ImageFolder, timm's
eval transform (float ToTensor + Normalize in the workers), a DataLoader with the same batch
size and workers, the model under no_grad with torch's default threads. robench is called through
``robench.engine.evaluate_suite`` with its defaults (uint8 batches normalised in the workers, one decode
per preprocessing group, forward passes of several batches side by side with one thread each,
slice results and a record written as usual). Both see the same generated 224px JPEGs and the same model
weights.

    python benchmarks/eval_throughput.py                       # a small model: 1 model, and 4 in one pass
    python benchmarks/eval_throughput.py --model resnet18@random --input-size 96 --models 1 --images 2000

Prints images/s of each and the ratios, and the CPU time (main process + DataLoader workers) per
image, which other programs on a shared machine disturb far less than wall time. Timings of the
two contenders alternate (A B A B ...) and the median of ``--repeats`` counts.

    python benchmarks/eval_throughput.py --corruptions              # imagenet-c-gen: images/s per corruption
    python benchmarks/eval_throughput.py --corruptions --images 10 --only glass_blur,zoom_blur

``--corruptions`` measures, on one core (pinned, every thread pool at one thread), how fast the
``imagecorruptions-imaug`` corruptions run on 224 px crops of generated val-sized JPEGs (about
500x375), per corruption over its 5 severities: the corruption alone, and the whole sample path of
``imagenet-c-gen`` (decode the val JPEG, resize 256 + crop 224, corrupt, encode BMP, and the engine's
decode). The first calls of each corruption (one per severity, mean) are timed apart (glass blur's
numba compilation), and the last lines give the cost of one val image in all 95 cells and of the whole
50,000-image val.
"""
import argparse
import io
import os
import resource
import statistics
import shutil
import sys
import tempfile
import time

import torch


def make_data(root, n_images, size):
    from robench.datasets.colour_code import choose_classes, write_class_folders

    marker = os.path.join(root, f".done-{n_images}-{size}")
    if os.path.exists(marker):
        return
    shutil.rmtree(root, ignore_errors=True)
    n_classes = min(1000, max(1, n_images // 5))
    per_class = -(-n_images // n_classes)
    write_class_folders(os.path.join(root, "val"), choose_classes(n_classes, 0), per_class, size=size, square=True)
    open(marker, "w").close()


def cpu_seconds():
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn):
    """(wall seconds, CPU seconds) of ``fn()``."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    fn()
    return time.perf_counter() - wall, cpu_seconds() - cpu


def plain_dataset(loaded, root):
    """ImageFolder with timm's eval transform for the model's data config (what validate.py builds)."""
    from timm.data import create_transform
    from torchvision.datasets import ImageFolder

    config = {k: loaded.data_config[k] for k in ("input_size", "interpolation", "mean", "std", "crop_pct",
                                                 "crop_mode")}
    return ImageFolder(os.path.join(root, "val"), transform=create_transform(**config, is_training=False))


def plain_loop(loaded, root, batch_size, workers, channels_last):
    """What timm's validate.py does, minus its metrics bookkeeping."""
    model = loaded.module
    dataset = plain_dataset(loaded, root)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, num_workers=workers, shuffle=False)
    correct = 0
    with torch.no_grad():
        for images, labels in loader:
            if channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            correct += (model(images).argmax(1) == labels).sum().item()
    return correct


def plain_data(loaded, root, batch_size, workers):
    """The plain loop's input pipeline alone: decode, resize, crop, float ToTensor + Normalize."""
    for _ in torch.utils.data.DataLoader(plain_dataset(loaded, root), batch_size=batch_size, num_workers=workers):
        pass


def robench_data(loaded, root, batch_size, workers):
    """robench's input pipeline alone, as a CPU run uses it (normalised in the workers)."""
    from robench.datasets import get_suite
    from robench.engine.data import make_loader
    from robench.models.preprocess import build_transform, normaliser, pixel_key

    variant = get_suite("imagenet").variants(root)[0]
    norm = normaliser(loaded.data_config, torch.device("cpu"))
    transform = build_transform(pixel_key(loaded.data_config))
    for _ in make_loader(variant.source, [[0, len(variant)]], transform, batch_size, workers, norm=norm):
        pass


def robench_run(loaded, root, batch_size, workers, channels_last):
    from robench.engine import EvalOptions, evaluate_suite

    out = tempfile.mkdtemp(prefix="robench-bench-")
    options = EvalOptions(batch_size=batch_size, workers=workers, device="cpu", channels_last=channels_last,
                          progress=False, progress_every=0)
    try:
        evaluate_suite(loaded, "imagenet", root, out, options=options)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def compare(a, b, repeats):
    """Alternating timings of ``a`` and ``b``: ([(wall, cpu)] of a, [(wall, cpu)] of b)."""
    runs_a, runs_b = [], []
    for _ in range(repeats):
        runs_a.append(timed(a))
        runs_b.append(timed(b))
    return runs_a, runs_b


def report(label, runs, images):
    """Prints and returns (best images/s, median images/s, median CPU s/image): other programs on a
    shared machine only ever slow a run down, so the best of several is the least disturbed."""
    best = images / min(w for w, _ in runs)
    median = images / statistics.median(w for w, _ in runs)
    cpu = statistics.median(c for _, c in runs) / images
    print(f"{label:<32} best {best:7.1f}  median {median:7.1f} images/s  {1000 * cpu:6.1f} CPU-ms/image  "
          f"(walls: {', '.join(f'{w:.1f}s' for w, _ in runs)})")
    return best, median, cpu


ONE_THREAD = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def one_core():
    """Re-executes this script pinned to one core with every thread pool at one thread (they are sized
    when numpy, torch and OpenCV load, so the environment must say it before they do)."""
    if all(os.environ.get(k) == "1" for k in ONE_THREAD):
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        torch.set_num_threads(1)
        return
    os.environ.update({k: "1" for k in ONE_THREAD})
    os.execv(sys.executable, [sys.executable, *sys.argv])


def val_jpegs(n, seed=0):
    """``n`` generated val-sized JPEGs (about 500x375, like ImageNet val's), as (key, bytes)."""
    import numpy as np

    from robench.datasets.colour_code import choose_classes, make_image
    from robench.labels import imagenet_wnids

    wnids, out = imagenet_wnids(), []
    for i, label in enumerate(choose_classes(n, seed)):
        rng = np.random.default_rng([seed, i])
        w, h = (500, 375) if i % 3 else (375, 500)
        buffer = io.BytesIO()
        make_image(label, rng, w, h).save(buffer, "JPEG", quality=90)
        out.append((f"{wnids[label]}/ILSVRC2012_val_{i:08d}.JPEG", buffer.getvalue()))
    return out


def corruption_throughput(n_images, only=None):
    """Per corruption: mean ms of its first calls, then images/s of the corruption alone and of the whole on-the-fly
    sample path, over ``n_images`` x 5 severities; printed as a table."""
    import cv2
    from tabulate import tabulate

    from robench.datasets import imagenet_c_gen as G
    from robench.datasets.corruptions import generator
    from robench.engine.data import decode_image
    from robench.metrics import imagenet_c as imagenet_c_metrics

    cv2.setNumThreads(1)
    cset = imagenet_c_metrics.corruption_set()
    corruptions = [c for c in cset.all if not only or c in only]
    images = val_jpegs(n_images)
    cleans = [(key, G.clean_crop(data)) for key, data in images]
    start = time.perf_counter()
    for key, data in images:
        G.clean_crop(data)
    prepare = (time.perf_counter() - start) / len(images)
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print(f"{generator()}, {len(images)} generated val JPEGs (~500x375) -> resize 256 + crop 224; one core "
          f"(CPUs allowed: {cpus}), 5 severities each; decode + resize + crop {1000 * prepare:.1f} ms/image")
    rows, per_image = [], 0.0
    for c in corruptions:
        start = time.perf_counter()
        for s in cset.severities:  # glass blur: numba compiles here (twice: severity 3's parameters are all ints)
            G.corrupt_pixels(cleans[0][1], cleans[0][0], c, s)
        first = (time.perf_counter() - start) / len(cset.severities)
        start = time.perf_counter()
        for key, clean in cleans:
            for s in cset.severities:
                G.corrupt_pixels(clean, key, c, s)
        alone = (time.perf_counter() - start) / (len(cleans) * len(cset.severities))
        start = time.perf_counter()
        for key, data in images:
            for s in cset.severities:
                decode_image(G.encode(G.corrupt_pixels(G.clean_crop(data), key, c, s)))
        path = (time.perf_counter() - start) / (len(images) * len(cset.severities))
        per_image += path * len(cset.severities)
        rows.append([c, cset.groups[c], 1000 * first, 1000 * alone, 1 / alone, 1 / path])
    print(tabulate(rows, headers=["corruption", "group", "first calls ms", "ms/image", "images/s",
                                  "images/s, whole sample path"], floatfmt=".1f"))
    if only is None:
        benchmark = sum(r[5] ** -1 for r in rows if r[1] != "extra") * len(cset.severities)
        print(f"one val image in all {len(rows) * len(cset.severities)} cells: {per_image:.2f} s on one core "
              f"({benchmark:.2f} s for the 75 benchmark cells); 50,000 val images: "
              f"{50_000 * per_image / 3600:.0f} core-hours ({50_000 * benchmark / 3600:.0f} for the benchmark cells)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, help="default: 4000 (eval), 20 (--corruptions)")
    parser.add_argument("--corruptions", action="store_true",
                        help="time the imagenet-c-gen corruptions per corruption on one core, no model")
    parser.add_argument("--only", help="with --corruptions: comma-separated corruptions (default: all 19)")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--model", default="test_robust_resnet@random", help="default: a small CNN (64 px input)")
    parser.add_argument("--input-size", type=int, help="override the model's input size (both loops)")
    parser.add_argument("--models", type=int, default=4, help="also time N models in one pass vs N runs (1: skip)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--channels-last", action="store_true", help="for both loops")
    parser.add_argument("--data-only", action="store_true", help="time the input pipelines alone, no model")
    parser.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "robench-bench-data"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.corruptions:
        one_core()
        only = [c.strip() for c in args.only.split(",")] if args.only else None
        corruption_throughput(args.images or 20, only)
        return
    args.images = args.images or 4000
    from robench.models import load_model

    make_data(args.data, args.images, args.size)
    n = sum(len(files) for _, _, files in os.walk(os.path.join(args.data, "val")))
    print(f"{n} JPEGs {args.size}px, model {args.model}, batch {args.batch_size}, workers {args.workers}, "
          f"torch threads {torch.get_num_threads()}, channels_last {args.channels_last}, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    cl = args.channels_last
    overrides = {"input_size": args.input_size}
    one = load_model(args.model, **overrides)
    if cl:
        one.module.to(memory_format=torch.channels_last)
    if args.data_only:
        runs_r, runs_p = compare(lambda: robench_data(one, args.data, args.batch_size, args.workers),
                                 lambda: plain_data(one, args.data, args.batch_size, args.workers),
                                 args.repeats)
        r_best, r_median, _ = report("robench input pipeline", runs_r, n)
        p_best, p_median, _ = report("plain input pipeline", runs_p, n)
        print(f"robench / plain: {r_best / p_best:.2f}x (best), {r_median / p_median:.2f}x (median)")
        return
    runs_r, runs_p = compare(lambda: robench_run([one], args.data, args.batch_size, args.workers, cl),
                             lambda: plain_loop(one, args.data, args.batch_size, args.workers, cl),
                             args.repeats)
    r_best, r_median, _ = report("robench, 1 model", runs_r, n)
    p_best, p_median, _ = report("plain loop, 1 model", runs_p, n)
    print(f"robench / plain: {r_best / p_best:.2f}x (best), {r_median / p_median:.2f}x (median)")
    if args.models > 1:
        many = [load_model(f"m{i}={args.model}", **overrides) for i in range(args.models)]
        if cl:
            for m in many:
                m.module.to(memory_format=torch.channels_last)
        runs_t, runs_s = compare(lambda: robench_run(many, args.data, args.batch_size, args.workers, cl),
                                 lambda: [robench_run([m], args.data, args.batch_size, args.workers, cl) for m in many],
                                 args.repeats)
        t_best, t_median, _ = report(f"robench, {args.models} models, one pass", runs_t, n * args.models)
        s_best, s_median, _ = report(f"robench, {args.models} models, {args.models} runs", runs_s, n * args.models)
        print(f"one pass / separate runs: {t_best / s_best:.2f}x (best), {t_median / s_median:.2f}x (median)"
              " in model-images/s")
    print(f"load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
