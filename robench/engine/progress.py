"""Progress files: how far each rank got inside an unfinished slice, so that a killed 50,000-image variant does not restart at zero.

Every ``--progress-every`` batches each rank writes, per model, the metric state of the samples
it has done, those samples (as index ranges: DataLoader workers each stop at their own place),
the files it skipped and, with --save-predictions, its prediction rows (a parquet side file
written first; rows beyond the recorded ranges are dropped on load). Because metric states are
exact sums, resuming from a progress file gives the same slice result as an uninterrupted run. A progress file
belongs to one rank of one world size; any other run ignores it and recomputes the slice.
"""
import os
from dataclasses import dataclass, field

import numpy as np

from robench.engine import slice_results, predictions
from robench.engine import ranges as R
from robench.fileio import atomic_write_json
from robench.results import read_json


@dataclass
class Progress:
    """What one rank has done of its slice of one variant, for one model."""

    done: list = field(default_factory=list)  # index ranges
    state: dict = None  # MetricState.state_dict()
    skipped: list = field(default_factory=list)  # [index, key, reason]
    rows: object = None  # PredictionRows, with --save-predictions


def _rows_path(path):
    return path[: -len(".json")] + ".predictions.parquet"


def save(path, identity, progress):
    """Writes ``progress``: the predictions side file first, then the JSON that vouches for it."""
    if progress.rows is not None:
        predictions.write_rows(_rows_path(path), progress.rows)
    atomic_write_json(path, {**identity, "done": progress.done, "state": progress.state,
                             "skipped": progress.skipped, "predictions": progress.rows is not None})


def load(path, identity, want_predictions, variant):
    """The Progress saved at ``path`` under the same ``identity``; None when absent or foreign."""
    if not os.path.isfile(path):
        return None
    try:
        saved = read_json(path)
        if any(saved.get(k) != v for k, v in identity.items()):
            return None
        progress = Progress(R.normalise(saved["done"]), saved["state"], saved["skipped"])
        lo, hi = identity["slice"]
        if progress.done and (progress.done[0][0] < lo or progress.done[-1][1] > hi):
            raise ValueError(f"its done ranges {progress.done} leave its slice [{lo}, {hi})")
        if want_predictions:
            if not saved.get("predictions"):
                return None
            progress.rows = _load_rows(_rows_path(path), progress.done, variant)
        return progress
    except Exception as e:  # damaged or from another robench: recompute rather than trust
        slice_results.discarded(path, e)
        return None


def _load_rows(path, done, variant):
    columns = predictions.read_columns(path)
    keep = np.zeros(len(columns["index"]), dtype=bool)
    for a, b in done:
        keep |= (columns["index"] >= a) & (columns["index"] < b)
    picked = {k: ([v[i] for i in np.flatnonzero(keep)] if isinstance(v, list) else v[keep])
              for k, v in columns.items()}
    return predictions.PredictionRows.from_columns(variant, picked)


def identity(measurement_id, metric_set_id, fingerprint, rank_slice, rank, world):
    """What a progress file must match to be resumed from."""
    return {"measurement_id": measurement_id, "metric_set": metric_set_id, "fingerprint": fingerprint,
            "slice": list(rank_slice), "rank": rank, "world": world}


def path_for(slice_result, rank, world):
    return slice_results.progress_path(slice_result, rank, world)
