"""Read-only file trees, so that a suite's ``scan`` reads extracted folders and released archives alike.

A Tree answers, for a relative ``/`` path: which sub-folders and files are there (with a stat per file
for the fingerprint), and a file's bytes. Paths inside an archive are the paths its members have once
extracted, so ``n01440764/x.JPEG`` is the same key whether it comes from a folder, a tar or a zip,
and a suite gives the same record for the same images in any of these forms.

- ``DirectoryTree``: a folder on disk (what robench always read; its keys, order and fingerprint are
  unchanged).
- ``ArchiveTree``: the members of a tar, a zip (ZipCrypto-encrypted too) or a .tar.gz (inflated once into
  the cache) (``robench.datasets.archive_index``), read in place.
- ``UnionTree``: several trees side by side, e.g. ImageNet-C's five tars (any subset of them) or a
  folder with the archive beside it. A name at the top that two of them hold is an error naming both:
  two copies of the same data are never merged silently.
- ``without_groups``: ImageNet-C extracted one tar per folder (``<group>/<corruption>/<severity>/...``)
  seen as the released layout (``<corruption>/<severity>/...``).

``mount`` builds a suite's tree from its root folder and the archive names it accepts.
"""
import os

from robench.datasets.archive_index import open_tar, open_tar_gz, open_zip
from robench.errors import DatasetLayoutError


class Tree:
    """The interface; ``rel`` is a relative path with ``/`` (``""`` is the tree's top)."""

    def is_dir(self, rel) -> bool:
        raise NotImplementedError

    def folders(self, rel=""):
        """Names of the sub-folders of ``rel`` (hidden ones left out), sorted."""
        raise NotImplementedError

    def files(self, rel="", keep=None):
        """[(name, stat)] of the files in ``rel`` whose name ``keep(name)`` accepts (all by default);
        ``stat`` is what the fingerprint records of a file (size and modification time)."""
        raise NotImplementedError

    def read(self, rel) -> bytes:
        """A file's bytes; OSError when the file cannot be read, DatasetLayoutError when an archive
        member is cut short."""
        raise NotImplementedError

    def locate(self, rel=""):
        """Where ``rel`` is, for messages (a path, or ``archive:member``)."""
        raise NotImplementedError

    def subtree(self, rel):
        raise NotImplementedError

    def describe(self):
        """What a record says about how the files are held: ``{"format": ..., "files": [archive names]}``."""
        return {"format": "folder"}

    def identity(self):
        """[[base name, size, mtime_ns]] of the archive files the tree reads ([] for folders): part of
        the data's fingerprint."""
        return []


def _join(*parts):
    return "/".join(p for p in parts if p)


class DirectoryTree(Tree):
    def __init__(self, root):
        self.root = os.fspath(root)

    def _path(self, rel):
        return os.path.join(self.root, *rel.split("/")) if rel else self.root

    def is_dir(self, rel):
        return os.path.isdir(self._path(rel))

    def folders(self, rel=""):
        return sorted(e.name for e in os.scandir(self._path(rel)) if e.is_dir() and not e.name.startswith("."))

    def files(self, rel="", keep=None):
        out = []
        for e in os.scandir(self._path(rel)):
            if (keep is None or keep(e.name)) and e.is_file():
                st = e.stat()  # size and mtime in ns: cheap for millions of files, and what changes on a rewrite
                out.append((e.name, (st.st_size, st.st_mtime_ns)))
        return out

    def read(self, rel):
        with open(self._path(rel), "rb") as f:
            return f.read()

    def locate(self, rel=""):
        return self._path(rel)

    def subtree(self, rel):
        return DirectoryTree(self._path(rel))


class ArchiveTree(Tree):
    """The members of one archive under ``prefix`` (a folder inside it)."""

    def __init__(self, archive, prefix="", _folders=None):
        self.archive, self.prefix = archive, prefix
        self._listing = _folders if _folders is not None else _listing(archive.names)

    def _full(self, rel):
        return _join(self.prefix, rel)

    def is_dir(self, rel):
        return self._full(rel) in self._listing

    def folders(self, rel=""):
        return sorted(n for n in self._listing.get(self._full(rel), ({}, {}))[0] if not n.startswith("."))

    def files(self, rel="", keep=None):
        files = self._listing.get(self._full(rel), ({}, {}))[1]
        stats = self.archive.stats
        return [(name, stats[i]) for name, i in files.items() if keep is None or keep(name)]

    def read(self, rel):
        folder, _, name = self._full(rel).rpartition("/")
        position = self._listing.get(folder, ({}, {}))[1].get(name)
        if position is None:
            raise FileNotFoundError(2, "no such member", self.locate(rel))
        return self.archive.read(position)

    def locate(self, rel=""):
        return self.archive.locate(self._full(rel))

    def subtree(self, rel):
        return ArchiveTree(self.archive, self._full(rel), self._listing)

    def describe(self):
        out = {"format": self.archive.kind, "files": [os.path.basename(self.archive.path)]}
        if getattr(self.archive, "encryption", None):  # that it was encrypted, never the password
            out["encryption"] = self.archive.encryption
        return out

    def identity(self):
        return [self.archive.identity()]


def _listing(names):
    """{folder path: ({sub-folder name: None}, {file name: member position})} of member paths; folders
    are implied by the paths (tars need not hold directory entries). A name held twice is the later
    member, as extraction would leave it."""
    listing = {"": ({}, {})}
    for position, name in enumerate(names):
        folder, _, base = name.rpartition("/")
        entry = listing.get(folder)
        if entry is None:
            parts = folder.split("/")
            for depth in range(len(parts)):
                parent, child = "/".join(parts[:depth]), "/".join(parts[:depth + 1])
                listing.setdefault(parent, ({}, {}))[0][parts[depth]] = None
                listing.setdefault(child, ({}, {}))
            entry = listing[folder]
        if base:
            entry[1][base] = position
    return listing


class UnionTree(Tree):
    """Trees side by side; each top-level folder or image file belongs to exactly one of them."""

    def __init__(self, trees, is_data_file):
        self.trees = list(trees)
        owner = {}
        for tree in self.trees:
            for name in tree.folders() + [n for n, _ in tree.files(keep=is_data_file)]:
                if name in owner:
                    raise DatasetLayoutError(
                        f"{name} is both {owner[name].locate(name)} and {tree.locate(name)}: the same data twice "
                        f"(an extracted copy beside its archive?); keep one of them, move the other away")
                owner[name] = tree
        self._owner = owner

    def _tree_of(self, rel):
        return self._owner.get(rel.split("/", 1)[0])

    def is_dir(self, rel):
        if not rel:
            return True
        tree = self._tree_of(rel)
        return tree is not None and tree.is_dir(rel)

    def folders(self, rel=""):
        if rel:
            tree = self._tree_of(rel)
            return tree.folders(rel) if tree is not None else []
        return sorted({n for t in self.trees for n in t.folders()})

    def files(self, rel="", keep=None):
        if rel:
            tree = self._tree_of(rel)
            return tree.files(rel, keep) if tree is not None else []
        seen, out = set(), []
        for tree in self.trees:
            for name, stat in tree.files(keep=keep):
                if name not in seen:
                    seen.add(name)
                    out.append((name, stat))
        return out

    def read(self, rel):
        tree = self._tree_of(rel)
        if tree is None:
            raise FileNotFoundError(2, "no such file", rel)
        return tree.read(rel)

    def locate(self, rel=""):
        tree = self._tree_of(rel) if rel else None
        if tree is not None:
            return tree.locate(rel)
        return " + ".join(t.locate() for t in self.trees)

    def subtree(self, rel):
        """The one tree that holds ``rel`` (top-level names are never shared), so a cell of ImageNet-C
        reads from its own tar."""
        tree = self._tree_of(rel)
        if tree is None or not tree.is_dir(rel):
            raise DatasetLayoutError(f"{rel} is not a folder of {self.locate()}")
        return tree.subtree(rel)

    def describe(self):
        parts = [t.describe() for t in self.trees]
        archives = [p for p in parts if p["format"] != "folder"]
        if not archives:
            return {"format": "folder"}
        formats = sorted({p["format"] for p in archives})
        fmt = f"{formats[0]}-union" if len(formats) == 1 and len(archives) > 1 else "+".join(formats)
        return {"format": fmt, "files": sorted(f for p in archives for f in p["files"])}

    def identity(self):
        return [i for t in self.trees for i in t.identity()]


def without_groups(tree, groups, is_member):
    """``tree`` with a grouping level hidden: ``<group>/<x>/...`` seen as ``<x>/...`` for each folder
    named in ``groups`` whose sub-folders ``is_member`` accepts (ImageNet-C extracted one tar per folder).
    A name found both grouped and not is the error of ``UnionTree``."""
    grouped = [g for g in groups if tree.is_dir(g) and any(is_member(n) for n in tree.folders(g))]
    if not grouped:
        return tree
    return UnionTree([tree] + [tree.subtree(g) for g in grouped], is_data_file=lambda name: False)


def open_archive(path, password=None, password_hint=""):
    """An ArchiveTree of the tar or zip ``path``; ``password`` decrypts a ZipCrypto zip (``password_hint``:
    how the suite takes one, said when it is missing)."""
    lower = path.lower()
    if lower.endswith(".zip"):
        return ArchiveTree(open_zip(path, password, password_hint))
    if lower.endswith((".tar.gz", ".tgz")):
        return ArchiveTree(open_tar_gz(path))
    return ArchiveTree(open_tar(path))


def mount(root, archive_names=(), is_data_file=None, foreign=None, password=None, password_hint=""):
    """The tree at the folder ``root``: the folder itself with each archive named in ``archive_names``
    that lies in it mounted beside its files (a name at the top held by two of them is an error).
    ``foreign`` ({folder name: suite}) names other suites' folders, which an archive must not hold."""
    root = os.fspath(root)
    base = DirectoryTree(root)
    archives = [os.path.join(root, n) for n in archive_names if os.path.isfile(os.path.join(root, n))]
    if not archives:
        return base
    trees = [open_archive(p, password, password_hint) for p in archives]
    for tree in trees:
        _check_one_suite(tree, foreign or {})
    return UnionTree([base] + trees, is_data_file or (lambda name: False))


def _check_one_suite(tree, foreign):
    """An archive a suite reads holds that suite's data only: one holding another suite's tree (a
    user's bundle of several data sets, or the wrong download) is an error naming it."""
    top = tree.folders()
    others = sorted({foreign[n] for n in top if n in foreign})
    if not others:
        return
    held = ", ".join(f"{n}/ ({foreign[n]})" for n in top if n in foreign)
    if len(others) > 1 or len(top) > sum(n in foreign for n in top):
        raise DatasetLayoutError(f"archive {tree.archive.path} holds the trees of more than one suite ({held} beside "
                                 f"{', '.join(n + '/' for n in top if n not in foreign) or 'them'}): robench reads "
                                 "one suite's data per archive; extract it and point each suite at its folder")
    raise DatasetLayoutError(f"archive {tree.archive.path} holds {held}: the data of suite {others[0]}, not of "
                             f"this suite; give it to {others[0]} (robench list suites shows each suite's folder)")


def data_tree(root, folder_names=(), archive_names=(), is_data_file=None, foreign=None):
    """The tree of a suite's data under ``root``: the folder itself, or ``root/<name>`` for the first of
    ``folder_names`` that is a folder there (users point at the data folder or the folder holding it),
    with the suite's archives mounted at each of these levels: ``root/imagenet-r.tar`` (holding
    ``imagenet-r/<wnid>/...``) serves like ``root/imagenet-r/``."""
    tree = mount(root, archive_names, is_data_file, foreign)
    for name in folder_names:
        if tree.is_dir(name):
            inner = tree.subtree(name)
            if isinstance(inner, DirectoryTree):  # a real folder: its own archives count too
                if isinstance(tree, UnionTree):
                    archives = ", ".join(t.locate() for t in tree.trees[1:])
                    raise DatasetLayoutError(f"{root} holds the data twice: the folder {inner.root} and {archives}; "
                                             "keep one of them, move the other away")
                return data_tree(inner.root, folder_names, archive_names, is_data_file, foreign)
            return inner
    return tree


def suite_tree(suite, root):
    """``data_tree`` for a suite: its folder names and archives (``Suite.archives``), image files."""
    from robench.datasets.base import is_image_name

    return data_tree(root, suite.folder_names, getattr(suite, "archives", ()), is_image_name, foreign_folders(suite))


def foreign_folders(suite):
    """{folder name: suite name} of the folders other installed suites read, less this suite's own."""
    from robench.datasets import SUITES, get_suite

    own = {suite.name, suite.folder, *suite.folder_names}
    out = {}
    for name in SUITES.names():
        if name == suite.name:
            continue
        try:
            other = get_suite(name)
        except Exception:  # a broken plug-in suite is reported where it is used, not here
            continue
        for folder in (other.name, other.folder, *other.folder_names):
            if folder not in own:
                out.setdefault(folder, name)
    return out
