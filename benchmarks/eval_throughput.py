"""Throughput of `robench eval` against a plain evaluation loop, in the same process.

The plain loop is built the way timm's validate.py builds one: torchvision ImageFolder, timm's
eval transform (float ToTensor + Normalize in the workers), a DataLoader with the same batch
size and workers, the model under no_grad with torch's default threads. robench is called through
``robench.engine.evaluate`` with its defaults (uint8 batches normalised in the workers, one decode
per preprocessing group, forward passes of several batches side by side with one thread each,
cells and a record written as usual). Both see the same generated 224px JPEGs and the same model
weights.

    python benchmarks/eval_throughput.py                       # a small model: 1 model, and 4 in one pass
    python benchmarks/eval_throughput.py --model resnet18@random --input-size 96 --models 1 --images 2000

Prints images/s of each and the ratios, and the CPU time (main process + DataLoader workers) per
image, which other programs on a shared machine disturb far less than wall time. Timings of the
two contenders alternate (A B A B ...) and the median of ``--repeats`` counts.
"""
import argparse
import os
import resource
import statistics
import shutil
import tempfile
import time

import torch


def make_data(root, n_images, size):
    from robench.datasets.synth import choose_classes, write_class_folders

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
    from robench.engine import EvalOptions, evaluate

    out = tempfile.mkdtemp(prefix="robench-bench-")
    options = EvalOptions(batch_size=batch_size, workers=workers, device="cpu", channels_last=channels_last,
                          progress=False, checkpoint_every=0)
    try:
        evaluate(loaded, "imagenet", root, out, options=options)
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=4000)
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
