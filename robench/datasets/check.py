"""``robench data check``: is a data root in its suite's layout, and how far are its counts from
the official sizes? Layout errors raise (DatasetLayoutError); count differences are reported,
never fatal: generated or partial copies are smaller by design."""
import os
from dataclasses import dataclass
from typing import Optional

from robench.datasets import shards
from robench.datasets.base import classes_found
from robench.fileio import sha256_file


CLASS_FOLDER_FORMATS = ("folder", "tar", "zip")  # labelled by their <wnid> folders (an archive's as extracted)


@dataclass
class CheckRow:
    variant: str
    found: int
    expected: Optional[int]
    classes: Optional[int]
    expected_classes: Optional[int]
    problem: str = ""
    held_as: str = "folder; labels: class folders"  # the data's format, files and labels (Source.describe)

    @property
    def ok(self):
        counts = self.expected is None or self.found == self.expected
        classes = self.classes is None or self.expected_classes is None or self.classes == self.expected_classes
        return counts and classes and not self.problem


def check_root(suite, root, select=None, verify=False):
    """One CheckRow per variant of ``suite`` under ``root`` (folders, archives, a shard set, ...); with
    ``verify``, every sample of data not in a shard set is read once (an archive member cut short, a zip
    member whose CRC differs: the variant's problem)."""
    root = os.fspath(root)
    variants = suite.variants(root, select)
    expected_classes = getattr(suite, "n_classes", None)
    if not shards.is_shard_root(root):
        return [CheckRow(v.name, len(v), v.n_official, classes_found(v.source), expected_classes,
                         _read_problem(v.source) if verify else "", held_as=held_as(v.source)) for v in variants]
    manifest = {v["name"]: v for v in shards.read_manifest(root)["variants"]}
    rows = []
    for v in variants:
        problems = [_shard_problem(v.source, shard, verify) for shard in manifest[v.name]["shards"]]
        problems = [p for p in problems if p]
        rows.append(CheckRow(v.name, len(v), v.n_official, manifest[v.name].get("classes"), expected_classes,
                             "; ".join(problems[:3]), held_as="robench-shards; labels: .cls"))
    return rows


def _read_problem(source):
    """'' when every sample of ``source`` reads in full, else the first problem (one line)."""
    from robench.errors import DatasetLayoutError

    try:
        for _ in source.iter_range(0, len(source)):
            pass
    except DatasetLayoutError as e:
        return str(e)
    return ""


def held_as(source):
    """``Source.describe()`` in one line: format, files, label source, and a publisher's re-encoding."""
    described = source.describe()
    parts = [described.get("format", "?")]
    files = described.get("files") or []
    if files:
        parts.append(f"{len(files)} file{'s' if len(files) != 1 else ''} ({files[0]}{' ...' if len(files) > 1 else ''})")
    if described.get("labels"):
        parts.append(f"labels: {described['labels']}")
    elif parts[0] in CLASS_FOLDER_FORMATS or parts[0].endswith("-union"):
        parts.append("labels: class folders")
    if described.get("re_encoded"):
        parts.append(f"re-encoded by its publisher: {described['re_encoded']}")
    return "; ".join(parts)


def _shard_problem(source, shard, verify):
    """What is wrong with one shard file ('' if nothing); URLs that are not local files are trusted."""
    path = source.url(shard)
    if "://" in path or path.startswith("pipe:"):
        return ""
    if not os.path.isfile(path):
        return f"missing shard {path}"
    if "bytes" in shard and os.path.getsize(path) != shard["bytes"]:
        return f"{path} has {os.path.getsize(path)} bytes, the manifest says {shard['bytes']} (truncated?)"
    if verify and "sha256" in shard:
        if sha256_file(path) != shard["sha256"]:
            return f"{path}: sha256 differs from the manifest (damaged or replaced)"
    return ""
