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

    def describe(self) -> dict:
        """What a record says about how the data is held: ``{"format": ..., "files": [...], "labels": ...}``
        (and ``re_encoded`` when the publisher re-encoded the images); class folders by default."""
        return {"format": "folder"}


class FolderSource(Source):
    """Samples in ``<tree>/<class folder>/<file>``, sorted by (folder, file name). The tree is a folder
    on disk or an archive read in place (``robench.datasets.trees``): the keys are the same relative
    paths either way. ``paths`` (optional) gives each entry's file when it is not at its key (ImageNet
    val's flat files, keyed ``<wnid>/<file>`` as the class-folder form)."""

    def __init__(self, tree, entries, stats=None, paths=None):
        from robench.datasets.trees import DirectoryTree, Tree

        self.tree = tree if isinstance(tree, Tree) else DirectoryTree(tree)
        self.directory = self.tree.locate()  # where the data is, for messages
        self.entries = entries  # list of (key: relative path, label)
        self.stats = stats  # (size, mtime) per entry, when scanned: part of the fingerprint
        self.paths = paths  # the file of each entry in the tree, when it is not the key

    def __len__(self):
        return len(self.entries)

    def _path(self, index):
        return self.entries[index][0] if self.paths is None else self.paths[index]

    def locate(self, key):
        if self.paths is not None:
            if getattr(self, "_path_of", None) is None:
                self._path_of = {k: p for (k, _), p in zip(self.entries, self.paths)}
            return self.tree.locate(self._path_of.get(key, key))
        return self.tree.locate(key)

    def read(self, index):
        """(key, bytes, label) of one sample, by position (random access for training)."""
        rel, label = self.entries[index]
        return rel, self.tree.read(self._path(index)), label

    def iter_range(self, start, stop):
        for i in range(start, min(stop, len(self.entries))):
            try:
                yield self.read(i)
            except OSError as e:
                rel, label = self.entries[i]
                yield rel, Unreadable(f"cannot read the file: {type(e).__name__}: {e.strerror}"), label

    def fingerprint(self):
        """Names, labels, and each file's size and modification time: an image replaced in place under
        the same name changes the fingerprint, so results cached for the old one are not reused. Data read
        from archives also hashes each archive's name, size and modification time first."""
        h = hashlib.sha256()
        identity = self.identity()
        if identity:
            h.update(json.dumps(identity).encode())
        stats = self.stats or [()] * len(self.entries)
        for (rel, label), stat in zip(self.entries, stats):
            h.update(f"{rel}\t{label}\t{' '.join(map(str, stat))}\n".encode())
        return h.hexdigest()[:16]

    def identity(self):
        """The files besides the images that decide the samples (archives; a label file in subclasses)."""
        return self.tree.identity()

    def describe(self):
        return self.tree.describe()


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
    """Distinct labels of a folder source, or of a hosted source that read its labels at scan time
    (``labels``); None for shard sources, which would have to be read."""
    entries = getattr(source, "entries", None)
    if entries is not None:
        return len({label for _, label in entries})
    labels = getattr(source, "labels", None)
    return None if labels is None else len(set(labels))


def require_directory(directory, what):
    """A DatasetLayoutError that says whether ``directory`` is missing or is a file."""
    if os.path.isdir(directory):
        return
    if os.path.exists(directory):
        raise DatasetLayoutError(f"{directory} is a file, not a directory (expected {what})")
    raise DatasetLayoutError(f"{directory} does not exist (expected {what})")


def scan_wnid_folders(directory, *, label_for=None, what="a class folder per wnid", keep=None) -> FolderSource:
    """Lists ``directory/<class>/<image>``; ``directory`` is a folder or a Tree (an archive read in place,
    ``robench.datasets.trees``). ``label_for(folder_name, where)`` maps a folder to a 1k index, and
    ``keep(folder_name)`` (optional) says which class folders to read. Files that are not images by
    their extension are ignored.

    Raises DatasetLayoutError naming the directory when it is missing or holds no class folders.
    """
    from robench.datasets.trees import Tree

    label_for = label_for or label_of
    if isinstance(directory, Tree):
        tree = directory
    else:
        from robench.datasets.trees import DirectoryTree

        require_directory(directory, what)
        tree = DirectoryTree(directory)
    where = tree.locate()
    classes = tree.folders()
    if keep is not None:
        classes = [c for c in classes if keep(c)]
    if not classes:
        raise DatasetLayoutError(f"{where} has no class folders (expected {what})")
    entries, stats = [], []
    for name in classes:
        label = label_for(name, tree.locate(name))
        try:
            files = sorted(tree.files(name, keep=is_image_name))
        except OSError as e:
            raise DatasetLayoutError(f"class folder {tree.locate(name)} cannot be read "
                                     f"({e.strerror}); fix its permissions or remove it") from None
        entries.extend((f"{name}/{f}", label) for f, _ in files)
        stats.extend(stat for _, stat in files)
    if not entries:
        raise DatasetLayoutError(f"{where} has class folders but no image files (expected {what})")
    return FolderSource(tree, entries, stats)


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
