"""Intervals for the numbers of records: exact binomial ones from the counts every record keeps, and a
paired bootstrap over image ids from the per-sample store (``--save-predictions``).

Counts: a column that is one variant's proportion (top-1, top-5, error, 1000-way or 16-way top-1, and
shape bias, a proportion of the shape-or-texture decisions) gets its Clopper-Pearson interval from the
record's state alone, so records from before the store get intervals too.

Bootstrap: each variant's images are resampled by a draw that depends only on the seed and the
variant's image ids (the key's last two parts, e.g. ``n01440764/ILSVRC2012_val_00000293.JPEG``), so
ImageNet-C's 75 cells, their clean ImageNet record and a second model on the same images all see the
SAME draws: aggregates (mCE, mean error, relative mCE against the resampled clean error, clean-subset
differences, shape bias) keep the pairing, and the difference of two models is resampled as a pair.
Per draw, the counting metrics' states are resampled (``Metric.sample_state`` + one matrix product),
their values computed, and the suite's own ``aggregates``/``joined``/``column_values`` recompute every
column, so a bootstrap column means exactly what the table's column means.
"""
import os

import numpy as np

from robench.stats.bootstrap import DEFAULT_DRAWS, DEFAULT_SEED, bootstrap_counts, percentile_interval
from robench.stats.intervals import DEFAULT_LEVEL, DEFAULT_METHOD, proportion_interval

RESAMPLED = ("accuracy", "top1_all_classes", "cue_conflict", "nonfinite")  # counts: cheap to resample
_COUNTS = {"top1": "correct1", "top5": "correct5", "error": "correct1", "top1_1000way": "correct1_1000way"}


def variant_intervals(variant, level=DEFAULT_LEVEL, method=DEFAULT_METHOD):
    """{value name: (low, high) in the value's units} of one record variant (a dict) from its counts."""
    state, metrics = variant.get("state") or {}, variant.get("metrics") or {}
    n = state.get("n")
    out = {}
    if not n:
        return out
    for name, field in _COUNTS.items():
        if name in metrics and field in state:
            k = round(state[field]) if name != "error" else round(n - state[field])
            low, high = proportion_interval(k, round(n), level, method)
            out[name] = (100 * low, 100 * high)
    if "cue_conflict" in state and metrics.get("shape_bias") is not None:
        table = np.asarray(state["cue_conflict"], dtype=float).reshape(-1, 3)
        shape, texture = round(table[:, 1].sum()), round(table[:, 2].sum())
        low, high = proportion_interval(shape, shape + texture, level, method)
        out["shape_bias"], out["shape_bias_pct"] = (low, high), (100 * low, 100 * high)
    if "cue_decisions" in state and metrics.get("top1_16") is not None:
        table = np.asarray(state["cue_decisions"], dtype=float).reshape(16, 16)
        low, high = proportion_interval(round(np.trace(table)), round(table.sum()), level, method)
        out["top1_16"] = (100 * low, 100 * high)
    return out


def count_intervals(record, values, level=DEFAULT_LEVEL, method=DEFAULT_METHOD):
    """{column id: (low, high)} for the columns of ``values`` ({column id: value}) that are one
    variant's proportion of a one-variant record (the value is matched against the variant's metrics)."""
    if len(record["variants"]) != 1:
        return {}
    variant = record["variants"][0]
    intervals = variant_intervals(variant, level, method)
    out = {}
    for cid, value in values.items():
        for name, interval in intervals.items():
            if value is not None and variant["metrics"].get(name) == value:
                out[cid] = interval
                break
    return out


def store_path(record_path):
    """The per-sample store beside a record file."""
    return record_path[: -len(".json")] + ".predictions.parquet"


def read_store(record_path, record):
    """The store's columns when the record has its own (same measurement, data, variants), else None."""
    from robench.engine.predictions import identity_of, read_columns, record_identity

    path = store_path(os.fspath(record_path))
    if not os.path.isfile(path) or identity_of(path) != record_identity(record):
        return None
    return read_columns(path)


def image_ids(keys):
    """The image identity of sample keys: their last two path parts (class folder and file)."""
    return tuple(_image_id(str(k)) for k in keys)


def _image_id(key):
    if "\\" in key:
        key = key.replace("\\", "/")
    return key[key.rfind("/", 0, key.rfind("/")) + 1:]


def variant_rows(columns):
    """{variant name: row indices of the store, in store order}, grouped once (not one scan per variant)."""
    import pandas as pd

    codes, names = pd.factorize(np.asarray(columns["variant"], dtype=object))
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    return {name: order[bounds[k]:bounds[k + 1]] for k, name in enumerate(names)}


def resampled_counts(record, columns, draws=DEFAULT_DRAWS, seed=DEFAULT_SEED):
    """The counting metrics' resampled states of every variant: (MetricSet, fields, [per variant: a
    (draws x state width) array, or None for a variant without rows]); None when the store cannot
    resample them (a file from before the store lacks some columns). Variants on the same image ids
    share one draw stream (``seed`` and a hash of the ids): the pairing."""
    from robench.metrics.base import MetricSet
    from robench.metrics.samples import NotInStore, sample_states
    from robench.results import stable_hash

    names = [m for m in record.get("metric_set", {}).get("metrics") or [] if m in RESAMPLED]
    metric_set = MetricSet(names)
    fields = [f for m in metric_set.metrics for f in m.fields]
    rows_of = variant_rows(columns)
    per_variant, groups = [], {}
    for k, variant in enumerate(record["variants"]):
        picked = rows_of.get(variant["name"], np.zeros(0, dtype=np.int64))
        rows = {c: ([v[i] for i in picked] if isinstance(v, list) else v[picked]) for c, v in columns.items()
                if c != "variant"}  # known: every row here is this variant's
        try:
            states = sample_states(metric_set, rows)
        except (KeyError, NotInStore):
            return None
        per_variant.append(np.hstack([states[f] for f in fields]) if fields else np.zeros((len(picked), 0)))
        groups.setdefault(image_ids(rows["key"]), []).append(k)
    counts = [None] * len(per_variant)
    for ids, members in groups.items():
        if not ids:
            continue
        stream = [seed, int(stable_hash(list(ids)), 16)]  # the same images get the same draws, in any record
        widths = [per_variant[k].shape[1] for k in members]
        out = bootstrap_counts(np.hstack([per_variant[k] for k in members]), draws, stream)
        for k, part in zip(members, np.split(out, np.cumsum(widths)[:-1], axis=1)):
            counts[k] = part
    return metric_set, fields, counts


def drawn_variants(record, resampled, d):
    """The record's variants under draw ``d`` of ``resampled_counts``: the counting metrics' states and
    values resampled, everything else as recorded."""
    metric_set, fields, counts = resampled
    layout, offset = [], 0
    for f in fields:  # where each state field sits in a row of counts
        shape = metric_set.fields[f]
        size = int(np.prod(shape, dtype=np.int64))
        layout.append((f, shape, offset, offset + size))
        offset += size
    out = []
    for k, variant in enumerate(record["variants"]):
        if counts[k] is None:
            out.append(variant)
            continue
        state, row = dict(variant["state"]), counts[k][d]
        for f, shape, start, stop in layout:
            state[f] = row[start:stop].reshape(shape)
        metrics = dict(variant["metrics"])
        for metric in metric_set.metrics:
            metrics.update(metric.compute(state, variant["state"]["n"]))
        out.append({**variant, "state": state, "metrics": metrics})
    return out


def resampled_variants(record, columns, draws=DEFAULT_DRAWS, seed=DEFAULT_SEED):
    """[draw][variant] -> variant dicts whose counting metrics (``RESAMPLED``) are resampled; None when the
    store cannot resample them (a file from before the store lacks some columns)."""
    resampled = resampled_counts(record, columns, draws, seed)
    return None if resampled is None else [drawn_variants(record, resampled, d) for d in range(draws)]


def column_draws(record, columns, companion=None, companion_columns=None, draws=DEFAULT_DRAWS,
                 seed=DEFAULT_SEED):
    """{column id: array of ``draws`` values} of a record's table columns under the paired bootstrap;
    the companion record (the clean one a join needs) is resampled with the same draws when its store
    is given, else held fixed. {} when the store cannot resample the record."""
    from robench.datasets import find_suite
    from robench.leaderboard.columns import record_values

    mine = resampled_counts(record, columns, draws, seed)
    if mine is None:
        return {}
    theirs = None
    if companion is not None and companion_columns is not None:
        theirs = resampled_counts(companion, companion_columns, draws, seed)
    suite = find_suite(record["suite"]["name"])
    out = {}
    for d in range(draws):
        drawn = _with_variants(record, drawn_variants(record, mine, d), suite)
        joined = {}
        if suite is not None and suite.companion:
            other = companion if theirs is None else _with_variants(companion, drawn_variants(companion, theirs, d),
                                                                    None)
            joined = suite.joined(drawn, other)
        for cid, value in record_values(drawn, joined).items():
            out.setdefault(cid, np.full(draws, np.nan))[d] = np.nan if value is None else value
    return out


def bootstrap_intervals(draws_by_column, level=DEFAULT_LEVEL):
    """{column id: (low, high)} from ``column_draws``."""
    out = {}
    for cid, values in draws_by_column.items():
        interval = percentile_interval(values, level)
        if interval is not None:
            out[cid] = interval
    return out


def _with_variants(record, variants, suite):
    drawn = {**record, "variants": variants}
    if suite is not None and record.get("aggregates"):
        drawn["aggregates"] = {**record["aggregates"], **suite.aggregates(variants)}
    return drawn
