"""Finished cells (model x variant x shard) on disk, so that a killed run resumes where it stopped.

A cell file holds the additive metric state of one model on one slice of one variant, with the
protocol hash and the data fingerprint it was computed under. A rerun reuses a cell only when
both still match; anything else is recomputed.
"""
import os

from robench.results import atomic_write_json, read_json


def cell_path(out_dir, model_name, suite_name, variant_name, shard=None):
    stem = variant_name.replace("/", "__")
    if shard is not None:
        stem += f".shard-{shard[0]}-of-{shard[1]}"
    return os.path.join(os.fspath(out_dir), model_name, ".cells", suite_name, f"{stem}.json")


def load_cell(path, protocol_hash, fingerprint, start, stop):
    """The stored cell if it was made under the same protocol, data and slice; else None."""
    if not os.path.isfile(path):
        return None
    try:
        cell = read_json(path)
    except Exception:  # a foreign or damaged file is recomputed, never trusted
        return None
    same = (cell.get("protocol_hash") == protocol_hash and cell.get("fingerprint") == fingerprint
            and cell.get("slice") == [start, stop])
    return cell if same else None


def save_cell(path, *, protocol_hash, fingerprint, start, stop, variant, state, n_seen, skipped):
    atomic_write_json(path, {"protocol_hash": protocol_hash, "fingerprint": fingerprint,
                             "slice": [start, stop], "variant": variant, "n_seen": n_seen,
                             "state": state, "skipped": skipped})
