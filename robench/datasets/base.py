"""Suites, variants and sample sources: what every benchmark adapter is made of.

A Suite (e.g. imagenet-c) knows its layout on disk, its variants (e.g. imagenet-c/fog/3), their
expected sizes, its label subset and its preprocessing protocol. A Variant holds a Source: an
ordered list of samples (key, encoded image bytes, 1k label) that can be read by index range, so
that ranks, job-array shards and DataLoader workers can each take a contiguous, unpadded slice.
"""
import hashlib
import os
from dataclasses import dataclass, field
from typing import Iterator, Optional, Tuple

from robench.errors import DatasetLayoutError
from robench.labels import label_of

IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png", ".bmp", ".webp")
Sample = Tuple[str, bytes, int]  # (key, encoded image bytes, 1k class index)


class Source:
    """An ordered, sliceable sequence of samples."""

    def __len__(self) -> int:
        raise NotImplementedError

    def iter_range(self, start: int, stop: int) -> Iterator[Sample]:
        raise NotImplementedError

    def fingerprint(self) -> str:
        """A hash of what the samples are (names and order), so records from different data differ."""
        raise NotImplementedError

    def locate(self, key) -> str:
        """Where a sample lives, for error messages."""
        return key


class FolderSource(Source):
    """Samples in ``<dir>/<wnid>/<file>``, sorted by (wnid, file name)."""

    def __init__(self, directory, entries):
        self.directory = str(directory)
        self.entries = entries  # list of (relative path, label)

    def __len__(self):
        return len(self.entries)

    def locate(self, key):
        return os.path.join(self.directory, key)

    def iter_range(self, start, stop):
        for i in range(start, min(stop, len(self.entries))):
            rel, label = self.entries[i]
            with open(os.path.join(self.directory, rel), "rb") as f:
                yield rel, f.read(), label

    def fingerprint(self):
        h = hashlib.sha256()
        for rel, label in self.entries:
            h.update(f"{rel}\t{label}\n".encode())
        return h.hexdigest()[:16]


def scan_wnid_folders(directory, *, label_for=None, what="a class folder per wnid") -> FolderSource:
    """Lists ``directory/<class>/<image>``; ``label_for(folder_name, where)`` maps a folder to a 1k index.

    Raises DatasetLayoutError naming the directory when it is missing or holds no class folders.
    """
    label_for = label_for or label_of
    if not os.path.isdir(directory):
        raise DatasetLayoutError(f"{directory} does not exist or is not a directory (expected {what})")
    classes = sorted(e.name for e in os.scandir(directory) if e.is_dir())
    if not classes:
        raise DatasetLayoutError(f"{directory} has no class folders (expected {what})")
    entries = []
    for name in classes:
        label = label_for(name, os.path.join(directory, name))
        files = sorted(
            e.name for e in os.scandir(os.path.join(directory, name))
            if e.is_file() and not e.name.startswith(".")
        )
        entries.extend((f"{name}/{f}", label) for f in files)
    if not entries:
        raise DatasetLayoutError(f"{directory} has class folders but no image files (expected {what})")
    return FolderSource(directory, entries)


@dataclass
class Variant:
    """One evaluated cell of a suite, e.g. ``imagenet-c/fog/3``."""

    name: str
    source: Source
    n_expected: Optional[int] = None
    info: dict = field(default_factory=dict)  # e.g. {"corruption": "fog", "severity": 3}
    resize: bool = True  # False: images are already at the model's size (ImageNet-C, Stylized)

    def __len__(self):
        return len(self.source)


class Suite:
    """A benchmark: subclasses set the class attributes and implement ``scan``."""

    name = ""
    version = "1"
    description = ""
    label_subset: Optional[str] = None  # timm info name of a 200-class subset, e.g. "imagenet_r"
    resize = True  # protocol: resize + center crop (True) or images used as they are (False)
    layout = ""  # one line shown in errors and `robench list suites`

    def scan(self, root, select=None):
        """Return the variants found under a folder root; ``select`` narrows them (suite-specific)."""
        raise NotImplementedError

    def variants(self, root, select=None):
        """Variants under ``root``, from wnid folders or from a robench webdataset shard set."""
        root = os.fspath(root)
        from robench.datasets import shards  # local: only needed when shards are used

        if shards.is_shard_root(root):
            return shards.shard_variants(self, root, select)
        if not os.path.isdir(root):
            raise DatasetLayoutError(
                f"{self.name} root {root} does not exist (expected {self.layout})"
            )
        return self.scan(root, select)

    def select_variants(self, variants, select):
        """Narrow found variants to ``select`` (names or name suffixes, e.g. 'fog' or 'fog/3')."""
        if not select:
            return list(variants)
        chosen = [v for v in variants if any(_matches(v.name, s) for s in select)]
        unknown = [s for s in select if not any(_matches(v.name, s) for v in variants)]
        if unknown:
            raise DatasetLayoutError(
                f"{self.name}: no variant matches {', '.join(unknown)} "
                f"(have: {', '.join(v.name for v in variants[:20])}{' ...' if len(variants) > 20 else ''})")
        return chosen

    def aggregates(self, variant_metrics, context=None):
        """Suite-level numbers computed from per-variant metrics (e.g. mCE); none by default."""
        return {}


def _matches(variant_name, wanted):
    """'imagenet-c/fog/3' matches 'fog', 'fog/3' and itself."""
    parts = variant_name.split("/")
    want = wanted.strip("/").split("/")
    return any(parts[i:i + len(want)] == want for i in range(len(parts) - len(want) + 1))
