"""Reading suites packed as webdataset tar shards (``robench data shard`` writes them).

A shard set is a folder (or URL prefix) with ``manifest.json``::

    {"format": "robench-shards", "version": 1, "suite": "imagenet-c",
     "variants": [{"name": "imagenet-c/fog/3", "info": {...}, "n_expected": 50000,
                   "fingerprint": "...", "shards": [{"url": "imagenet-c/fog/3/000000.tar",
                                                     "count": 1000, "sha256": "..."}]}]}

Each sample is ``<key>.<ext>`` (the original image bytes, never re-encoded) plus ``<key>.cls``
(the 1k class index); the key is ``<class folder>__<file stem>``. Shard sample counts in the
manifest make slicing exact: a slice opens only the shards it overlaps and skips to its start.
"""
import json
import os
import tarfile

from robench.datasets.base import Source, Variant
from robench.errors import DatasetLayoutError

MANIFEST = "manifest.json"
FORMAT = "robench-shards"


def is_shard_root(root):
    return os.path.isfile(os.path.join(os.fspath(root), MANIFEST))


def read_manifest(root):
    path = os.path.join(root, MANIFEST)
    try:
        with open(path) as f:
            manifest = json.load(f)
    except (OSError, ValueError) as e:
        raise DatasetLayoutError(f"{path} is not a readable shard manifest ({e})") from None
    if manifest.get("format") != FORMAT:
        raise DatasetLayoutError(f"{path} is not a robench shard manifest (format != {FORMAT})")
    return manifest


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

    def locate(self, key):
        return f"{key} (in shards under {self.root})"

    def url(self, shard):
        url = shard["url"]
        if "://" in url or url.startswith("pipe:") or os.path.isabs(url):
            return url
        return os.path.join(self.root, url)

    def iter_range(self, start, stop):
        stop = min(stop, len(self))
        for i, shard in enumerate(self.shards):
            lo, hi = self.offsets[i], self.offsets[i + 1]
            if hi <= start or lo >= stop:
                continue
            for j, sample in enumerate(self._read_shard(shard)):
                index = lo + j
                if index >= stop:
                    break
                if index >= start:
                    yield sample

    def _read_shard(self, shard):
        """Samples of one shard in order; a short or damaged shard is a DatasetLayoutError."""
        url = self.url(shard)
        seen = 0
        try:
            for key, data, label in _tar_samples(url):
                seen += 1
                yield key, data, label
        except (tarfile.TarError, OSError, EOFError) as e:
            raise DatasetLayoutError(f"shard {url} is damaged or truncated after {seen} samples ({e})") from None
        if seen != int(shard["count"]):
            raise DatasetLayoutError(
                f"shard {url} holds {seen} samples but the manifest says {shard['count']} (truncated?)")


def _tar_samples(url):
    """(key, image bytes, label) from a tar stream, grouping members by webdataset key."""
    from webdataset import gopen

    stream = gopen(url[len("file:"):] if url.startswith("file:") else url, "rb")
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as tar:
            key, image, label = None, None, None
            for member in tar:
                if not member.isfile():
                    continue
                base = os.path.basename(member.name)
                k, _, ext = base.partition(".")
                if k != key:
                    if key is not None:
                        yield _complete(key, image, label, url)
                    key, image, label = k, None, None
                data = tar.extractfile(member).read()
                if ext == "cls":
                    label = int(data.decode().strip())
                else:
                    image = data
            if key is not None:
                yield _complete(key, image, label, url)
    finally:
        stream.close()


def _complete(key, image, label, url):
    if image is None or label is None:
        raise DatasetLayoutError(f"shard {url}: sample '{key}' lacks its image or its .cls label")
    return key, image, label


def shard_variants(suite, root, select=None):
    """The suite's variants from a shard set, narrowed by ``select`` like the folder layout."""
    manifest = read_manifest(root)
    if manifest.get("suite") != suite.name:
        raise DatasetLayoutError(
            f"{root} holds shards of suite '{manifest.get('suite')}', not '{suite.name}'")
    variants = [Variant(v["name"], ShardSource(root, v["shards"], v["fingerprint"]),
                        n_expected=v.get("n_expected"), info=v.get("info", {}), resize=suite.resize)
                for v in manifest["variants"]]
    return suite.select_variants(variants, select) if select else variants
