"""Suites, variants and sample sources: what every benchmark adapter is made of.

A Suite (e.g. imagenet-c) is one module that declares everything about its benchmark: its layout on
disk and official counts, how variants are found and selected (e.g. imagenet-c/fog/3), its label
subset and preprocessing rule, its metrics and suite-level aggregates (pure functions of the
per-variant entries of one record), the values it joins at report time with a companion record
(e.g. relative mCE with the same model's clean error), its leaderboard columns, detail tables and
plots, and its generated-data writer. The engine, the CLI and the leaderboard read these
declarations and never name a suite.

A Variant holds a Source: an ordered list of samples (key, encoded image bytes, 1k label) that can
be read by index range, so that ranks, job-array tasks and DataLoader workers can each take a
contiguous, unpadded slice.
"""
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Iterator, Optional, Tuple

from robench.errors import DatasetLayoutError
from robench.labels import label_of

IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff", ".ppm")
GENERATED_MARKER = "robench-generated.json"  # at the root of data made by robench, never of released data
Sample = Tuple[str, bytes, int]  # (key, encoded image bytes, 1k class index)


@dataclass(frozen=True)
class Unreadable:
    """Stands for the bytes of a file that could not be read (permissions, I/O error): the engine
    reports it like an undecodable image, by name, and --skip-bad-images counts it."""

    reason: str


def is_image_name(name):
    """Files that can be images by their extension; others (.txt, Thumbs.db, .DS_Store) are not data."""
    return not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)


class Source:
    """An ordered, sliceable sequence of samples."""

    def __len__(self) -> int:
        raise NotImplementedError

    def iter_range(self, start: int, stop: int) -> Iterator[Sample]:
        raise NotImplementedError

    def read(self, index) -> Sample:
        """One sample by position (training reads in random order); sources override it when they can
        do better than reading up to it."""
        return next(iter(self.iter_range(index, index + 1)))

    def fingerprint(self) -> str:
        """A hash of what the samples are (names and order), so records from different data differ."""
        raise NotImplementedError

    def locate(self, key) -> str:
        """Where a sample lives, for error messages."""
        return key


class FolderSource(Source):
    """Samples in ``<dir>/<class folder>/<file>``, sorted by (folder, file name)."""

    def __init__(self, directory, entries, stats=None):
        self.directory = str(directory)
        self.entries = entries  # list of (relative path, label)
        self.stats = stats  # (size, mtime_ns) per entry, when scanned: part of the fingerprint

    def __len__(self):
        return len(self.entries)

    def locate(self, key):
        return os.path.join(self.directory, key)

    def read(self, index):
        """(relative path, bytes, label) of one sample, by position (random access for training)."""
        rel, label = self.entries[index]
        with open(os.path.join(self.directory, rel), "rb") as f:
            return rel, f.read(), label

    def iter_range(self, start, stop):
        for i in range(start, min(stop, len(self.entries))):
            try:
                yield self.read(i)
            except OSError as e:
                rel, label = self.entries[i]
                yield rel, Unreadable(f"cannot read the file: {type(e).__name__}: {e.strerror}"), label

    def fingerprint(self):
        """Names, labels, and each file's size and modification time: an image replaced in place under
        the same name changes the fingerprint, so results cached for the old one are not reused."""
        h = hashlib.sha256()
        stats = self.stats or [()] * len(self.entries)
        for (rel, label), stat in zip(self.entries, stats):
            h.update(f"{rel}\t{label}\t{' '.join(map(str, stat))}\n".encode())
        return h.hexdigest()[:16]


def content_fingerprint(source):
    """A fingerprint of every sample's bytes (``--verify``): slower than names, sizes and times (it reads all
    the data once more), but it also sees a file rewritten with the same size and time. Reading a shard
    set whole also checks each shard's sha256 against its manifest."""
    h = hashlib.sha256(source.fingerprint().encode())
    for key, data, label in source.iter_range(0, len(source)):
        h.update(f"{key}\t{label}\t".encode())
        h.update(hashlib.sha256(data if isinstance(data, bytes) else repr(data).encode()).digest())
    return h.hexdigest()[:16]


def classes_found(source):
    """Distinct labels of a folder source (None for shard sources, which would have to be read)."""
    entries = getattr(source, "entries", None)
    return None if entries is None else len({label for _, label in entries})


def require_directory(directory, what):
    """A DatasetLayoutError that says whether ``directory`` is missing or is a file."""
    if os.path.isdir(directory):
        return
    if os.path.exists(directory):
        raise DatasetLayoutError(f"{directory} is a file, not a directory (expected {what})")
    raise DatasetLayoutError(f"{directory} does not exist (expected {what})")


def scan_wnid_folders(directory, *, label_for=None, what="a class folder per wnid", keep=None) -> FolderSource:
    """Lists ``directory/<class>/<image>``; ``label_for(folder_name, where)`` maps a folder to a 1k index,
    and ``keep(folder_name)`` (optional) says which class folders to read. Files that are not images by
    their extension are ignored.

    Raises DatasetLayoutError naming the directory when it is missing or holds no class folders.
    """
    label_for = label_for or label_of
    require_directory(directory, what)
    classes = sorted(e.name for e in os.scandir(directory) if e.is_dir() and not e.name.startswith("."))
    if keep is not None:
        classes = [c for c in classes if keep(c)]
    if not classes:
        raise DatasetLayoutError(f"{directory} has no class folders (expected {what})")
    entries, stats = [], []
    for name in classes:
        label = label_for(name, os.path.join(directory, name))
        try:
            files = sorted((e.name, _stat(e)) for e in os.scandir(os.path.join(directory, name))
                           if e.is_file() and is_image_name(e.name))
        except OSError as e:
            raise DatasetLayoutError(f"class folder {os.path.join(directory, name)} cannot be read "
                                     f"({e.strerror}); fix its permissions or remove it") from None
        entries.extend((f"{name}/{f}", label) for f, _ in files)
        stats.extend(stat for _, stat in files)
    if not entries:
        raise DatasetLayoutError(f"{directory} has class folders but no image files (expected {what})")
    return FolderSource(directory, entries, stats)


def _stat(entry):
    """(size, mtime in ns) of a directory entry: cheap enough for millions of files, and what changes
    when an image is replaced."""
    st = entry.stat()
    return st.st_size, st.st_mtime_ns


def find_data_dir(root, names):
    """``root`` itself, or ``root/<name>`` for the first of ``names`` that exists: users point at
    either the data folder or the folder that holds it (e.g. ``/data`` or ``/data/imagenet-r``)."""
    for name in names:
        candidate = os.path.join(root, name)
        if os.path.isdir(candidate):
            return candidate
    return root


def generated_info(root):
    """The marker robench writes at the root of data it generated (None for released data)."""
    path = os.path.join(root, GENERATED_MARKER)
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise DatasetLayoutError(f"{path} is not readable JSON ({e}); delete it if this is released data") from None


def write_generated_marker(root, **details):
    """Marks ``root`` as generated by robench, so its records say ``data_origin: generated`` and never
    rank beside records of the released data."""
    from robench.fileio import atomic_write_json

    atomic_write_json(os.path.join(root, GENERATED_MARKER), {"generated_by": "robench", **details})


@dataclass
class Variant:
    """One evaluated part of a suite, e.g. ``imagenet-c/fog/3``."""

    name: str
    source: Source
    n_official: Optional[int] = None  # images of the released variant
    info: dict = field(default_factory=dict)  # e.g. {"corruption": "fog", "severity": 3}
    resize: bool = True  # False: images are used as released, at ``stored_size`` (ImageNet-C, Stylized)
    stored_size: Optional[int] = None  # side of the released images when resize is False
    data_origin: str = "released"  # or "generated": made by robench (its marker file), not the released data
    _content: Optional[str] = field(default=None, init=False, repr=False, compare=False)

    def __len__(self):
        return len(self.source)

    def fingerprint(self, verify=False):
        """The data's fingerprint: names, sizes and times (cheap), or with ``verify`` the content, read
        once per Variant (a run asks for it for every model group and again for the record)."""
        if not verify:
            return self.source.fingerprint()
        if self._content is None:
            self._content = content_fingerprint(self.source)
        return self._content
