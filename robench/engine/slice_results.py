"""Slice results: one model's finished work on one variant (or a job-array task's slice of it) on
disk, so that a killed run resumes where it stopped.

A slice result holds the additive metric state of one model on one slice of one variant, with the
measurement id, the metric set and the data fingerprint it was computed under. A rerun reuses it
only when all three still match, its slice is the same and its state is valid for that slice (and,
with --save-predictions, when its predictions part exists); anything else is recomputed, never
trusted or zero-filled. The predictions part is written before the slice result, so a slice result
on disk always comes with its part. Files are written by rank 0 only, under ``<out>/<model>/.slices/``.
Inside an unfinished one, each rank keeps a progress file (``robench.engine.progress``) beside it.

("Cell" is kept for a (corruption, severity) pair of a corruption benchmark.)
"""
import glob
import os

from robench.fileio import atomic_write_json
from robench.results import read_json


def slice_result_path(out_dir, model_name, suite_name, variant_name, task=None):
    stem = variant_name.replace("/", "__")
    if task is not None:
        stem += f".task-{task[0]}-of-{task[1]}"
    return os.path.join(os.fspath(out_dir), model_name, ".slices", suite_name, f"{stem}.json")


def predictions_part(path):
    """The predictions part file of the slice result at ``path``."""
    return path[: -len(".json")] + ".predictions.parquet"


def load_slice_result(path, measurement_id, fingerprint, start, stop, metric_set, need_predictions=False):
    """The stored slice result if it was made under the same measurement, metric set, data and slice
    and its state is valid for that slice; else None (the slice is recomputed)."""
    if not os.path.isfile(path):
        return None
    try:
        stored = read_json(path)
        same = (stored.get("measurement_id") == measurement_id and stored.get("fingerprint") == fingerprint
                and stored.get("slice") == [start, stop] and stored.get("metric_set") == metric_set.id)
        if not same:  # made under other settings or data: a normal rerun, recomputed quietly
            return None
        state = metric_set.restore(stored["state"], path)
        skipped = stored["skipped"]
        if not isinstance(skipped, list) or not _is_count(stored["n_seen"]) or state.count != stored["n_seen"] \
                or stored["n_seen"] + len(skipped) != stop - start:
            raise ValueError(f"its counts ({stored['n_seen']} seen + {len(skipped)} skipped) do not match its slice "
                             f"[{start}, {stop})")
    except Exception as e:  # a foreign or damaged file is recomputed, never trusted
        discarded(path, e)
        return None
    if need_predictions and not predictions_belong(path, stored):
        return None
    return stored


def part_identity(measurement_id, fingerprint, start, stop, variant):
    """What a slice result's predictions part must say to belong to it."""
    return {"measurement_id": measurement_id, "fingerprint": fingerprint, "slice": [start, stop], "variant": variant}


def predictions_belong(path, stored):
    """Whether the predictions part beside the slice result at ``path`` was written with it (an older
    part left by a run under other settings is not)."""
    from robench.engine.predictions import identity_of

    part = predictions_part(path)
    return os.path.isfile(part) and identity_of(part) == part_identity(
        stored.get("measurement_id"), stored.get("fingerprint"), *stored.get("slice", [None, None]),
        stored.get("variant"))


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def discarded(path, reason):
    """One line on stderr for resume state that was not what robench writes; the work is redone."""
    import sys

    text = " ".join(str(reason).split())[:300]
    sys.stderr.write(f"robench: discarded {path} ({type(reason).__name__}: {text}); recomputing it\n")


def save_slice_result(path, *, measurement_id, metric_set, fingerprint, start, stop, variant, state, n_seen, skipped):
    atomic_write_json(path, {"measurement_id": measurement_id, "metric_set": metric_set.id, "fingerprint": fingerprint,
                             "slice": [start, stop], "variant": variant, "n_seen": n_seen,
                             "state": state, "skipped": skipped})


def progress_path(path, rank, world):
    """Where rank ``rank`` of ``world`` saves its progress file beside the slice result at ``path``."""
    return path[: -len(".json")] + f".progress-{rank}-of-{world}.json"


def remove_progress_files(path, rank=None, world=None):
    """Deletes progress files of the slice result at ``path``: one rank's, or (no rank) every rank's."""
    stem = path[: -len(".json")]
    pattern = f"{stem}.progress-*" if rank is None else f"{stem}.progress-{rank}-of-{world}.*"
    for found in glob.glob(glob.escape(stem) + pattern[len(stem):]):
        try:
            os.unlink(found)
        except FileNotFoundError:  # another process cleaned it first
            pass
