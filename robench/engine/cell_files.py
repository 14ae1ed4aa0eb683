"""Cell files: one finished cell (model x variant x job-array task) on disk, so that a killed run
resumes where it stopped.

A cell file holds the additive metric state of one model on one slice of one variant, with the
protocol hash, the metric set and the data fingerprint it was computed under. A rerun reuses a cell
only when all three still match, its slice is the same and its state is valid for that slice (and,
with --save-predictions, when its predictions part exists); anything else is recomputed, never
trusted or zero-filled. The predictions part is written before the cell file, so a cell file on disk
always comes with its part. Files are written by rank 0 only.
"""
import glob
import os

from robench.fileio import atomic_write_json
from robench.results import read_json


def cell_path(out_dir, model_name, suite_name, variant_name, task=None):
    stem = variant_name.replace("/", "__")
    if task is not None:
        stem += f".task-{task[0]}-of-{task[1]}"
    return os.path.join(os.fspath(out_dir), model_name, ".cells", suite_name, f"{stem}.json")


def predictions_part(path):
    """The predictions part file of the cell at ``path``."""
    return path[: -len(".json")] + ".predictions.parquet"


def load_cell(path, protocol_hash, fingerprint, start, stop, metric_set, need_predictions=False):
    """The stored cell if it was made under the same protocol, metric set, data and slice and its
    state is valid for that slice; else None (the cell is recomputed)."""
    if not os.path.isfile(path):
        return None
    try:
        cell = read_json(path)
        same = (cell.get("protocol_hash") == protocol_hash and cell.get("fingerprint") == fingerprint
                and cell.get("slice") == [start, stop] and cell.get("metric_set") == metric_set.id)
        if not same:  # made under other settings or data: a normal rerun, recomputed quietly
            return None
        state = metric_set.restore(cell["state"], path)
        skipped = cell["skipped"]
        if not isinstance(skipped, list) or not _is_count(cell["n_seen"]) or state.count != cell["n_seen"] \
                or cell["n_seen"] + len(skipped) != stop - start:
            raise ValueError(f"its counts ({cell['n_seen']} seen + {len(skipped)} skipped) do not match its slice "
                             f"[{start}, {stop})")
    except Exception as e:  # a foreign or damaged file is recomputed, never trusted
        discarded(path, e)
        return None
    if need_predictions and not os.path.isfile(predictions_part(path)):
        return None
    return cell


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def discarded(path, reason):
    """One line on stderr for resume state that was not what robench writes; the work is redone."""
    import sys

    text = " ".join(str(reason).split())[:300]
    sys.stderr.write(f"robench: discarded {path} ({type(reason).__name__}: {text}); recomputing it\n")


def save_cell(path, *, protocol_hash, metric_set, fingerprint, start, stop, variant, state, n_seen, skipped):
    atomic_write_json(path, {"protocol_hash": protocol_hash, "metric_set": metric_set.id, "fingerprint": fingerprint,
                             "slice": [start, stop], "variant": variant, "n_seen": n_seen,
                             "state": state, "skipped": skipped})


def partial_path(path, rank, world):
    """Where rank ``rank`` of ``world`` saves its progress file inside the cell at ``path``."""
    return path[: -len(".json")] + f".partial-{rank}-of-{world}.json"


def remove_partials(path, rank=None, world=None):
    """Deletes progress files of the cell at ``path``: one rank's, or (no rank) every rank's."""
    stem = path[: -len(".json")]
    pattern = f"{stem}.partial-*" if rank is None else f"{stem}.partial-{rank}-of-{world}.*"
    for found in glob.glob(glob.escape(stem) + pattern[len(stem):]):
        try:
            os.unlink(found)
        except FileNotFoundError:  # another process cleaned it first
            pass
