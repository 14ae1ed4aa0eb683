"""``robench data check``: is a data root in its suite's layout, and how far are its counts from
the official sizes? Layout errors raise (DatasetLayoutError); count differences are reported,
never fatal: generated or partial copies are smaller by design."""
import os
from dataclasses import dataclass
from typing import Optional

from robench.datasets import shards
from robench.datasets.base import classes_found
from robench.fileio import sha256_file


@dataclass
class CheckRow:
    variant: str
    found: int
    expected: Optional[int]
    classes: Optional[int]
    expected_classes: Optional[int]
    problem: str = ""

    @property
    def ok(self):
        counts = self.expected is None or self.found == self.expected
        classes = self.classes is None or self.expected_classes is None or self.classes == self.expected_classes
        return counts and classes and not self.problem


def check_root(suite, root, select=None, verify=False):
    """One CheckRow per variant of ``suite`` under ``root`` (folders or a shard set)."""
    root = os.fspath(root)
    variants = suite.variants(root, select)
    expected_classes = getattr(suite, "n_classes", None)
    if not shards.is_shard_root(root):
        return [CheckRow(v.name, len(v), v.n_official, classes_found(v.source), expected_classes) for v in variants]
    manifest = {v["name"]: v for v in shards.read_manifest(root)["variants"]}
    rows = []
    for v in variants:
        problems = [_shard_problem(v.source, shard, verify) for shard in manifest[v.name]["shards"]]
        problems = [p for p in problems if p]
        rows.append(CheckRow(v.name, len(v), v.n_official, manifest[v.name].get("classes"), expected_classes,
                             "; ".join(problems[:3])))
    return rows


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
