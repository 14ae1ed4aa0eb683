"""Reading released archives in place against the same files extracted: does it cost more?

Writes ``--images`` ImageNet-C-like files (224x224 JPEGs at quality 85, noisy enough to be about the
size of the released ones, ~16 KB) as ``<corruption>/<severity>/<wnid>/*.JPEG`` folders, packs the
same files into an uncompressed tar (GNU tar, as Zenodo's) and a deflated zip (Info-ZIP, as
ImageNet-Sketch's), then times, in one process:

- reading every sample and decoding it as the engine does (``Source.iter_range`` +
  ``robench.engine.data.decode_image``) from the folders, from the tar and from the zip, and reading
  the bytes alone (what the in-place reading itself costs: a tar member is one ``pread``, a zip member
  a ``pread`` and an inflate, a file an open, read and close);
- building the tar's member index (one pass over the headers, the cache off) and listing the zip's
  central directory, in MB/s of archive and members/s.

The files were just written, so they are in the page cache: this measures what robench adds (index
lookups, ``pread``, inflating), not the disk. The last lines estimate how long indexing ImageNet-C's
real five tars (62 GB, 3.75M members) takes from the measured members/s (the pass reads one 512-byte
header per member and seeks over the data, so members, not bytes, set its cost) and from MB/s.

    python benchmarks/read_in_place.py                 # 4,000 images, best of 3
    python benchmarks/read_in_place.py --images 20000 --repeats 5
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

IMAGENET_C_BYTES, IMAGENET_C_MEMBERS = 62e9, 3_750_000  # Zenodo record 2235448, the five tars


def write_images(root, n, seed=0):
    """``root/<corruption>/<severity>/<wnid>/*.JPEG``: ``n`` 224px q85 JPEGs, 50 per class folder."""
    from robench.labels import imagenet_wnids

    rng = np.random.default_rng(seed)
    wnids = imagenet_wnids()
    for i in range(n):
        folder = os.path.join(root, "gaussian_noise", str(1 + (i // 1000) % 5), wnids[(i // 50) % 1000])
        os.makedirs(folder, exist_ok=True)
        base = rng.integers(40, 215, size=3)
        pixels = base + rng.normal(0, 22, size=(224, 224, 3))  # noise: sizes like the released JPEGs
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB").save(
            os.path.join(folder, f"ILSVRC2012_val_{i + 1:08d}.JPEG"), "JPEG", quality=85)


def read_all(source, decode=True):
    """Images/s reading (and decoding, as the engine's CPU path does) every sample of ``source``."""
    from robench.engine.data import decode_image

    start = time.perf_counter()
    n = 0
    for _, data, _ in source.iter_range(0, len(source)):
        if decode:
            decode_image(data)
        n += 1
    return n / (time.perf_counter() - start)


def best(repeats, measure):
    return max(measure() for _ in range(repeats))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", help="write the data here and keep it (default: a temporary folder)")
    args = parser.parse_args()
    os.environ["ROBENCH_CACHE_DIR"] = "off"  # every index build is a real pass over the archive

    from robench.datasets import archive_index
    from robench.datasets.base import scan_wnid_folders
    from robench.datasets.trees import open_archive

    work = args.keep or tempfile.mkdtemp(prefix="robench-read-in-place-")
    try:
        folders = os.path.join(work, "extracted")
        write_images(folders, args.images)
        tar, zip_path = os.path.join(work, "noise.tar"), os.path.join(work, "noise.zip")
        subprocess.run(["tar", "-cf", tar, "-C", folders, "gaussian_noise"], check=True)
        subprocess.run(["zip", "-q", "-r", zip_path, "gaussian_noise"], cwd=folders, check=True)
        tar_bytes, zip_bytes = os.path.getsize(tar), os.path.getsize(zip_path)
        cell = "gaussian_noise/1"
        sources = {"folder": lambda: scan_wnid_folders(os.path.join(folders, *cell.split("/"))),
                   "tar": lambda: scan_wnid_folders(open_archive(tar).subtree(cell)),
                   "zip": lambda: scan_wnid_folders(open_archive(zip_path).subtree(cell))}
        rates, raw = {}, {}
        for _ in range(args.repeats):  # alternate the forms, keep each one's best
            for form, make in sources.items():
                source = make()
                rates[form] = max(rates.get(form, 0.0), read_all(source))
                raw[form] = max(raw.get(form, 0.0), read_all(source, decode=False))
        n_cell = len(sources["folder"]())

        def tar_pass():
            start = time.perf_counter()
            archive_index.build_tar_index(tar, tar_bytes)
            return time.perf_counter() - start

        def zip_listing():
            start = time.perf_counter()
            archive_index.open_zip(zip_path)
            return time.perf_counter() - start

        tar_s = min(tar_pass() for _ in range(args.repeats))
        zip_s = min(zip_listing() for _ in range(args.repeats))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    mean_kb = tar_bytes / args.images / 1e3
    print(f"{args.images} images of 224x224 JPEG q85 (mean {mean_kb:.1f} KB in the tar); reading the "
          f"{n_cell} images of one cell, decode included, best of {args.repeats}, page cache warm")
    print(f"{'form':<8} {'images/s':>10} {'vs folder':>10}   {'bytes only/s':>12} {'vs folder':>10}")
    for form, rate in rates.items():
        print(f"{form:<8} {rate:>10.0f} {rate / rates['folder']:>9.2f}x   {raw[form]:>12.0f} "
              f"{raw[form] / raw['folder']:>9.2f}x")
    tar_mb_s, tar_members_s = tar_bytes / 1e6 / tar_s, args.images / tar_s
    print(f"tar index build: {tar_bytes / 1e6:.0f} MB in {tar_s:.3f} s = {tar_mb_s:.0f} MB/s, "
          f"{tar_members_s:.0f} members/s (one pass over the headers, cache off)")
    print(f"zip central directory: {zip_bytes / 1e6:.0f} MB, {args.images} members in {zip_s:.3f} s = "
          f"{args.images / zip_s:.0f} members/s")
    by_members = IMAGENET_C_MEMBERS / tar_members_s
    by_bytes = IMAGENET_C_BYTES / 1e6 / tar_mb_s
    print(f"ImageNet-C's five tars (62 GB, 3.75M members), indexed once: ~{by_members / 60:.1f} min from the "
          f"members/s, ~{by_bytes / 60:.1f} min from the MB/s (page cache warm; a cold disk adds one header read "
          "per member); later scans read the cached index")


if __name__ == "__main__":
    main()
