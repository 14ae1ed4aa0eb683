"""Per-sample predictions (``--save-predictions``): the per-sample store every metric is recomputed from.

One parquet file per (model, suite) next to its record, ``<suite>.predictions.parquet``, with a
row per sample: variant, index (position in the variant), key, label (1k index), then the store's
columns (``robench.metrics.samples``): top5_class (1k indices, best first), top5_prob, label_prob
(over the suite's 200 classes for ImageNet-R/A), label_logprob, label_logit, logsumexp, confidence,
prediction, nonfinite, and the columns the suite's metrics add (prediction_1000way on R/A,
cue_decision on cue-conflict). ``robench rescore`` rebuilds the record from it exactly, and
``robench.stats`` resamples its images. Files from before the store hold the first seven columns
only (top-1/top-5 are still recomputed from them). Each finished slice result keeps its own part file
(written before the slice result itself), so resumed and sharded runs assemble the same file at the end.

Every predictions file names the measurement it belongs to, in its parquet metadata (``robench``: the
measurement id, the data fingerprint, the variants and the slice or task), so that a file left from an
earlier run is never merged or kept beside a record it does not describe (``identity_of``).
"""
import json

import numpy as np

COLUMNS = ("variant", "index", "key", "label", "top5_class", "top5_prob", "label_prob")  # in every file
_LISTS = {"top5_class": np.int32, "top5_prob": np.float32}
_EMPTY = {"top5_class": np.zeros((0, 5), np.int32), "top5_prob": np.zeros((0, 5), np.float32),
          "label_prob": np.zeros(0, np.float32)}


class PredictionRows:
    """Prediction rows of one model on one slice, gathered batch by batch in any order."""

    def __init__(self, variant):
        self.variant, self.chunks = variant, []

    def add(self, indices, keys, labels, scored):
        self.chunks.append({"index": np.asarray(indices, dtype=np.int64), "key": list(keys),
                            "label": np.asarray(labels, dtype=np.int32), **scored})

    def __len__(self):
        return sum(len(c["index"]) for c in self.chunks)

    def columns(self):
        """The rows as a dict of columns, sorted by sample index."""
        return sorted_columns(self.variant, self.chunks)

    @classmethod
    def from_columns(cls, variant, columns):
        rows = cls(variant)
        if len(columns["index"]):
            rows.chunks.append({k: v for k, v in columns.items() if k != "variant"})
        return rows


def sorted_columns(variant, chunks):
    if not chunks:
        return {"variant": [], "index": np.zeros(0, np.int64), "key": [], "label": np.zeros(0, np.int32), **_EMPTY}
    index = np.concatenate([c["index"] for c in chunks])
    order = np.argsort(index, kind="stable")
    keys = [k for c in chunks for k in c["key"]]
    out = {"variant": [variant] * len(index), "index": index[order], "key": [keys[i] for i in order]}
    for name in chunks[0]:
        if name not in out:
            out[name] = np.concatenate([c[name] for c in chunks])[order]
    return out


def to_table(columns):
    import pyarrow as pa

    def fixed_list(values, dtype):
        values = np.ascontiguousarray(values, dtype=dtype)
        width = values.shape[1] if values.ndim == 2 else 5
        return pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), width)

    out = {"variant": pa.array(columns["variant"], pa.string()), "index": pa.array(columns["index"], pa.int64()),
           "key": pa.array(columns["key"], pa.string()), "label": pa.array(columns["label"], pa.int32())}
    for name, values in columns.items():
        if name in out:
            continue
        out[name] = fixed_list(values, _LISTS[name]) if name in _LISTS else pa.array(np.asarray(values))
    return pa.table(out)


IDENTITY_KEY = b"robench"


def write_table(path, table, identity=None):
    """Writes a parquet file so that ``path`` is either absent/old or the whole new file; ``identity``
    (a JSON-able dict) goes into its metadata."""
    import pyarrow.parquet as pq

    from robench.fileio import atomic_write_with

    if identity is not None:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               IDENTITY_KEY: json.dumps(identity, sort_keys=True).encode()})
    atomic_write_with(path, lambda tmp: pq.write_table(table, tmp), suffix=".parquet")


def write_rows(path, rows, identity=None):
    write_table(path, to_table(rows.columns()), identity)


def identity_of(path):
    """The identity a predictions file was written with (None: none, or not a readable parquet file)."""
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_schema(path).metadata or {}
        return json.loads(metadata[IDENTITY_KEY]) if IDENTITY_KEY in metadata else None
    except (OSError, ValueError, KeyError):
        return None


def record_identity(record):
    """What a record's predictions file must say to belong to it (a record dict or a Record)."""
    data = record if isinstance(record, dict) else record.to_json()
    return {"measurement_id": data.get("measurement_id"), "fingerprint": (data.get("suite") or {}).get("fingerprint"),
            "variants": [v["name"] for v in data.get("variants") or []], "task": (data.get("run") or {}).get("task")}


def read_columns(path):
    """A predictions file back as columns (the inverse of ``write_rows``): every column it holds."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    out = {}
    for name in table.column_names:
        column = table.column(name)
        if name in _LISTS:
            flat = column.combine_chunks().flatten().to_numpy(zero_copy_only=False)
            out[name] = flat.reshape(len(table), -1)
        elif name in ("variant", "key"):
            out[name] = column.to_pylist()
        else:
            out[name] = column.to_numpy()
    return out


def concatenate(paths, out_path, identity=None):
    """Joins part files, in the given order, into one parquet file; returns ``out_path``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = [pq.read_table(p).replace_schema_metadata(None) for p in paths]
    write_table(out_path, pa.concat_tables(tables) if tables else to_table(sorted_columns("", [])), identity)
    return out_path


def remove_stale(path, identity):
    """Deletes the predictions file at ``path`` unless it says ``identity``: a file from another
    measurement (other data, other variants, another model) must not sit beside a record as if it were its
    own. Returns a note when one was removed."""
    import os

    if not os.path.isfile(path) or identity_of(path) == identity:
        return None
    os.unlink(path)
    return f"removed {path}: predictions of another measurement (rerun with --save-predictions to write them)"
