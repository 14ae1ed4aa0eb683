"""Packing a suite's folders into webdataset tar shards (format: ``robench.datasets.shards``).

Shards turn millions of small files into a few hundred sequential reads, which is what object
stores and network file systems serve well. Images are stored byte for byte (never re-encoded),
tar headers carry no time or owner (the same folders always give the same shards and sha256),
and every shard is written under a temporary name and renamed when complete; the manifest is
written last, so a shard set without a manifest is unfinished, never half-valid.
"""
import io
import os
import tarfile

from robench.datasets import shards
from robench.errors import DatasetLayoutError
from robench.fileio import atomic_write_with, sha256_file


def sample_key(path):
    """``n01440764/a.b.JPEG`` -> ``n01440764__a%2Eb%2EJPEG``: a webdataset key (no dots, no slash)
    that still shows the class folder and file name; injective, so keys never collide."""
    folder, _, name = path.rpartition("/")
    escaped = name.replace("%", "%25").replace(".", "%2E")
    return f"{folder}__{escaped}" if folder else escaped


def _member(name, data):
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o444
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info, io.BytesIO(data)


def write_tar(path, samples):
    """Writes ``samples`` (path, image bytes, label) to the tar ``path``; returns (count, bytes, sha256)."""
    made = {}

    def save(tmp):
        count = 0
        with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
            for rel, data, label in samples:
                key = sample_key(rel)
                ext = os.path.splitext(rel)[1].lstrip(".").lower() or "bin"
                for name, payload in ((f"{key}.{ext}", data), (f"{key}.cls", str(label).encode()),
                                      (f"{key}.path", rel.encode())):
                    tar.addfile(*_member(name, payload))
                count += 1
        made.update(count=count, size=os.path.getsize(tmp), sha=sha256_file(tmp))

    atomic_write_with(path, save, suffix=".tar")
    return made["count"], made["size"], made["sha"]


def write_variant(variant, out, shard_size, bar=None):
    """Shards of one variant under ``out/<variant name>/``; returns its manifest entry."""
    from robench.datasets.base import classes_found

    folder = os.path.join(out, *variant.name.split("/"))
    os.makedirs(folder, exist_ok=True)
    n, entries = len(variant), []
    for index, start in enumerate(range(0, n, shard_size)):
        stop = min(n, start + shard_size)
        rel = "/".join([*variant.name.split("/"), f"{index:06d}.tar"])
        count, size, sha = write_tar(os.path.join(out, rel), _counting(variant.source.iter_range(start, stop), bar))
        entries.append({"url": rel, "count": count, "bytes": size, "sha256": sha})
    return {"name": variant.name, "info": variant.info, "n_official": variant.n_official, "count": n,
            "data_origin": variant.data_origin, "stored_size": variant.stored_size,
            "classes": classes_found(variant.source), "fingerprint": variant.source.fingerprint(),
            "shards": entries}


def _counting(samples, bar):
    for sample in samples:
        yield sample
        if bar is not None:
            bar.update(1)


def write_shard_set(suite, root, out, *, shard_size=1000, select=None, progress=False):
    """Packs ``suite``'s variants found under the folder ``root`` into a shard set at ``out``;
    returns the manifest path."""
    from tqdm import tqdm

    from robench import __version__
    from robench.fileio import atomic_write_json

    root, out = os.fspath(root), os.fspath(out)
    if shards.is_shard_root(root):
        raise DatasetLayoutError(f"{root} is already a shard set; point at the image folders to pack")
    if shards.is_shard_root(out):
        raise DatasetLayoutError(f"{out} already holds a shard set (manifest.json); choose another "
                                 "output folder or delete that one")
    if shard_size < 1:
        raise DatasetLayoutError("--shard-size must be at least 1")
    variants = suite.variants(root, select)
    bar = tqdm(total=sum(len(v) for v in variants), unit="img", disable=not progress, dynamic_ncols=True)
    manifest = {"format": shards.FORMAT, "version": shards.VERSION, "suite": suite.name,
                "suite_version": suite.version, "created_by": f"robench {__version__}",
                "variants": []}
    for variant in variants:
        bar.set_description(variant.name)
        manifest["variants"].append(write_variant(variant, out, shard_size, bar))
    bar.close()
    path = os.path.join(out, shards.MANIFEST)
    atomic_write_json(path, manifest)
    return path
