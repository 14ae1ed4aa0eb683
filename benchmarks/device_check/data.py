"""The generated JPEGs the check evaluates and times, in the real layouts, written once per size."""
import os
import shutil

GENERATOR = "benchmarks/device_check"


def _write_jpegs(job):
    """(folder, name, label, seed, width, height, quality) rows -> files (a process pool's task)."""
    import numpy as np

    from robench.datasets.colour_code import make_image

    for folder, name, label, seed, width, height, quality in job:
        os.makedirs(folder, exist_ok=True)
        make_image(label, np.random.default_rng([seed, label]), width, height).save(
            os.path.join(folder, name), "JPEG", quality=quality)


def write_jpegs(rows, processes):
    from multiprocessing import get_context

    chunks = [rows[i::processes] for i in range(processes)]
    with get_context("fork").Pool(processes) as pool:
        pool.map(_write_jpegs, [c for c in chunks if c])


def imagenet_c_layout(root, n, processes):
    """``root/gaussian_noise/3/<wnid>/*.JPEG``: ``n`` 224 px JPEGs (quality 85, as released), one cell."""
    from robench.datasets.base import write_generated_marker
    from robench.labels import imagenet_wnids

    marker = os.path.join(root, f".done-{n}")
    if os.path.exists(marker):
        return root
    shutil.rmtree(root, ignore_errors=True)
    wnids = imagenet_wnids()
    rows = [(os.path.join(root, "gaussian_noise", "3", wnids[i % 1000]), f"ILSVRC2012_val_{i:08d}.JPEG", i % 1000,
             i, 224, 224, 85) for i in range(n)]
    write_jpegs(rows, processes)
    write_generated_marker(root, generator=GENERATOR, size=224)
    open(marker, "w").close()
    return root


def val_like(root, n, processes, size=(500, 375)):
    """``root/val/<wnid>/*.JPEG``: ``n`` JPEGs of ~500x375 (a third portrait), like ImageNet val's."""
    from robench.datasets.base import write_generated_marker
    from robench.labels import imagenet_wnids

    marker = os.path.join(root, f".done-{n}-{size[0]}x{size[1]}")
    if os.path.exists(marker):
        return root
    shutil.rmtree(root, ignore_errors=True)
    wnids, (w, h) = imagenet_wnids(), size
    rows = [(os.path.join(root, "val", wnids[i % 1000]), f"ILSVRC2012_val_{i:08d}.JPEG", i % 1000, i,
             *((w, h) if i % 3 else (h, w)), 90) for i in range(n)]
    write_jpegs(rows, processes)
    write_generated_marker(root, generator=GENERATOR, size=max(size))
    open(marker, "w").close()
    return root
