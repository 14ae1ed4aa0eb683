"""Reading suites packed as webdataset tar shards (``robench data shard`` writes them).

A shard set is a folder with ``manifest.json``::

    {"format": "robench-shards", "version": 1, "suite": "imagenet-c", "suite_version": "1",
     "created_by": "robench 0.1.0",
     "variants": [{"name": "imagenet-c/fog/3", "info": {...}, "n_official": 50000, "count": 1000,
                   "data_origin": "released", "stored_size": 224,
                   "classes": 1000, "fingerprint": "<the folder source's fingerprint>",
                   "shards": [{"url": "imagenet-c/fog/3/000000.tar", "count": 1000,
                               "bytes": 6815744, "sha256": "..."}]}]}

Each sample is three tar members sharing a webdataset key: ``<key>.<ext>`` (the original image
bytes, never re-encoded; ``ext`` is the file's extension in lower case), ``<key>.cls`` (the 1k class
index, decimal text) and ``<key>.path`` (the file's path in the folder layout, e.g.
``n01440764/ILSVRC2012_val_00000293.JPEG``). The key is ``<class folder>__<file name>`` with ``%``
and ``.`` escaped as ``%25`` and ``%2E`` (webdataset splits a key from its extension at the first
dot). The reader reports samples by their ``.path``, and the manifest keeps the folder layout's
fingerprint, so a shard set evaluates to the same record as the folders it was made from.

A shard ``url`` is relative to the manifest's folder, an absolute path, ``file:PATH`` or a
``pipe:COMMAND`` that writes the tar to stdout (e.g. ``pipe:curl -s https://host/000000.tar``);
edit the manifest to serve the same shards from elsewhere. Shard sample counts make slicing exact:
a slice opens only the shards it overlaps and skips to its start. A shard that is damaged or
holds fewer samples than the manifest says is a DatasetLayoutError naming it.
"""
import hashlib
import json
import os
import tarfile

from robench.datasets.base import Source, Variant
from robench.errors import DatasetLayoutError

MANIFEST = "manifest.json"
FORMAT = "robench-shards"
VERSION = 1


def is_shard_root(root):
    return os.path.isfile(os.path.join(os.fspath(root), MANIFEST))


def read_manifest(root):
    path = os.path.join(root, MANIFEST)
    try:
        with open(path) as f:
            manifest = json.load(f)
    except (OSError, ValueError) as e:
        raise DatasetLayoutError(f"{path} is not a readable shard manifest ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DatasetLayoutError(f"{path} is not a robench shard manifest (format != {FORMAT})")
    if manifest.get("version") != VERSION:
        raise DatasetLayoutError(f"{path}: manifest version {manifest.get('version')!r} is not {VERSION}; "
                                 "rewrite the shards with this robench (robench data shard)")
    problem = _manifest_problem(manifest)
    if problem:
        raise DatasetLayoutError(f"{path}: malformed manifest ({problem}); rewrite it with robench data shard")
    return manifest


def _manifest_problem(manifest):
    variants = manifest.get("variants")
    if not isinstance(variants, list) or not variants:
        return "no variants"
    if not all(isinstance(v, dict) for v in variants):
        return "a variant entry is not an object"
    names = [v.get("name") for v in variants]
    twice = sorted({n for n in names if names.count(n) > 1}, key=str)
    if twice:
        return f"variant {twice[0]} is listed {names.count(twice[0])} times (a record would hold it twice)"
    for v in variants:
        missing = [k for k in ("name", "fingerprint", "shards") if k not in v]
        if missing:
            return f"variant {v.get('name', '?')} lacks {', '.join(missing)}"
        for shard in v["shards"]:
            if "url" not in shard or not isinstance(shard.get("count"), int) or shard["count"] < 0:
                return f"variant {v['name']}: a shard lacks its url or integer count"
        for key in ("url", "sha256"):
            seen = [s[key] for s in v["shards"] if key in s]
            if len(seen) != len(set(seen)):
                return f"variant {v['name']}: a shard is listed twice (same {key})"
        if "count" in v and sum(s["count"] for s in v["shards"]) != v["count"]:
            return (f"variant {v['name']}: its shards hold {sum(s['count'] for s in v['shards'])} samples but it "
                    f"says {v['count']} (a shard entry dropped or added?)")
    return None


class ShardSource(Source):
    def __init__(self, root, shards, fingerprint):
        self.root, self.shards, self._fingerprint = root, shards, fingerprint
        self.offsets = [0]
        for shard in shards:
            self.offsets.append(self.offsets[-1] + int(shard["count"]))

    def __len__(self):
        return self.offsets[-1]

    def fingerprint(self):
        return self._fingerprint

    def describe(self):
        """A robench shard set: the record names the format (its fingerprint is the folders' it was packed from)."""
        return {"format": "robench-shards", "files": [MANIFEST]}

    def locate(self, key):
        return f"{key} (in shards under {self.root})"

    def url(self, shard):
        """The shard's URL; a relative path (also after ``file:``) is relative to the manifest's folder."""
        url = shard["url"]
        if "://" in url or url.startswith("pipe:"):
            return url
        path = url[len("file:"):] if url.startswith("file:") else url
        return path if os.path.isabs(path) else os.path.join(self.root, path)

    def iter_range(self, start, stop):
        stop = min(stop, len(self))
        for i, shard in enumerate(self.shards):
            lo, hi = self.offsets[i], self.offsets[i + 1]
            if hi <= start or lo >= stop:
                continue
            whole = start <= lo and stop >= hi  # read from its first byte to its last: its sha256 is checked
            for j, sample in enumerate(self._read_shard(shard, verify=whole)):
                index = lo + j
                if index >= stop:
                    break
                if index >= start:
                    yield sample

    def _read_shard(self, shard, verify=False):
        """Samples of one shard in order; a short or damaged shard is a DatasetLayoutError, and so is a
        shard read whole whose bytes are not the ones its manifest's sha256 names."""
        url = self.url(shard)
        seen = 0
        digest = hashlib.sha256() if verify and shard.get("sha256") else None
        try:
            for key, data, label in _tar_samples(url, digest):
                seen += 1
                yield key, data, label
        except FileNotFoundError as e:
            raise DatasetLayoutError(f"shard {url} is missing ({e.strerror}); is the manifest's url right?") from None
        except (tarfile.TarError, OSError, EOFError) as e:
            raise DatasetLayoutError(f"shard {url} is damaged or truncated after {seen} samples ({e})") from None
        if seen != int(shard["count"]):
            raise DatasetLayoutError(
                f"shard {url} holds {seen} samples but the manifest says {shard['count']} (truncated?)")
        if digest is not None and digest.hexdigest() != shard["sha256"]:
            raise DatasetLayoutError(f"shard {url}: its bytes do not match the sha256 in the manifest (replaced, "
                                     "damaged, or from another shard set); rewrite it with robench data shard")


def group_members(tar, read_image):
    """(key, {"image": read_image(member), "cls": bytes, "path": bytes}) per webdataset sample of
    an open tar, members grouped by key (the file name up to its first dot), in order."""
    key, sample = None, {}
    for member in tar:
        if not member.isfile():
            continue
        k, _, ext = os.path.basename(member.name).partition(".")
        if k != key:
            if key is not None:
                yield key, sample
            key, sample = k, {}
        if ext in ("cls", "path"):
            sample[ext] = tar.extractfile(member).read()
        else:
            sample["image"] = read_image(tar, member)
    if key is not None:
        yield key, sample


class _Hashing:
    """A read-only stream that feeds every byte read through a hash (the tar reader reads in order)."""

    def __init__(self, stream, digest):
        self.stream, self.digest = stream, digest

    def read(self, size=-1):
        data = self.stream.read(size)
        self.digest.update(data)
        return data

    def close(self):
        self.stream.close()


def _tar_samples(url, digest=None):
    """(key, image bytes, label) from a tar stream; ``digest`` (a hashlib object) sees all its bytes."""
    from webdataset import gopen

    stream = gopen(url, "rb")
    if digest is not None:
        stream = _Hashing(stream, digest)
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as tar:
            for key, sample in group_members(tar, lambda t, m: t.extractfile(m).read()):
                yield _complete(key, sample, url)
        if digest is not None:  # the tar's end-of-archive padding is part of the bytes the manifest hashed
            while stream.read(1 << 20):
                pass
    finally:
        stream.close()


def _complete(key, sample, url):
    """(name, image bytes, label) of one sample; its name is its folder-layout path when known."""
    if "image" not in sample or "cls" not in sample:
        raise DatasetLayoutError(f"shard {url}: sample '{key}' lacks its image or its .cls label (truncated?)")
    try:
        label = int(sample["cls"].decode().strip())
    except ValueError:
        raise DatasetLayoutError(f"shard {url}: sample '{key}' has a .cls that is not a class index") from None
    name = sample["path"].decode() if "path" in sample else key
    return name, sample["image"], label


def shard_variants(suite, root, select=None):
    """The suite's variants from a shard set, narrowed by ``select`` like the folder layout."""
    manifest = read_manifest(root)
    if manifest.get("suite") != suite.name:
        raise DatasetLayoutError(
            f"{root} holds shards of suite '{manifest.get('suite')}', not '{suite.name}'")
    variants = [Variant(v["name"], ShardSource(root, v["shards"], v["fingerprint"]),
                        n_official=v.get("n_official", v.get("n_expected")), info=_info(v), resize=suite.resize,
                        stored_size=v.get("stored_size", None if suite.resize else suite.stored_size),
                        data_origin=v.get("data_origin") or _old_origin(v))
                for v in manifest["variants"]]
    return suite.select_variants(variants, select)


def _info(entry):
    """A variant's suite-specific info ('protocol' was the data origin in manifests before 0.2)."""
    return {k: v for k, v in (entry.get("info") or {}).items() if k != "protocol"}


def _old_origin(entry):
    return (entry.get("info") or {}).get("protocol") or "released"
