"""The leaderboard's columns: declared by the suites (``Suite.columns``), read from records here.

Each column is defined once, in its suite's module: its id (also the column name in
``reported.csv``), header, direction and definition (rendered as a footnote). A record of a suite that
is not installed still gets a column (its top-1, or its mean error), never silently dropped.
"""
from robench.datasets.declare import Column

PAPER_INPUT_SIZE = 224  # the benchmark protocol: models evaluated at 224 px


def suite_key(name):
    """Canonical name of a suite in records: lower case, '-' for '_' ('My_Suite' -> 'my-suite')."""
    return str(name).strip().lower().replace("_", "-")


def installed_suites():
    """Every registered suite, in registration order (built-ins first)."""
    from robench.datasets import SUITES, get_suite

    return [get_suite(name) for name in SUITES.names()]


def declared_columns():
    """{column id: Column} of every installed suite, in suite order then declaration order."""
    out = {}
    for suite in installed_suites():
        for col in suite.columns:
            out.setdefault(col.id, col)
    return out


def core_ids():
    return [cid for cid, col in declared_columns().items() if col.core]


def record_values(record, joined=None):
    """{column id: value or None} for the numbers one record contributes to the main table."""
    from robench.datasets import find_suite

    suite = find_suite(suite_key(record["suite"]["name"]))
    if suite is not None and suite.columns:
        return suite.column_values(record, joined or {})
    return _generic_values(suite_key(record["suite"]["name"]), record["variants"], record.get("aggregates") or {})


def column(column_id):
    """The Column of a declared id, or a generic one for suites without declarations."""
    declared = declared_columns()
    if column_id in declared:
        return declared[column_id]
    suite, _, what = column_id.partition(":")
    if what == "mean_error":
        return Column(column_id, f"{suite} mean error", False,
                      f"mean top-1 error (%) over the variants of {suite}, as its record's aggregates give it.")
    label = suite if what == "top1" else f"{suite} {what}"
    return Column(column_id, label, True, f"top-1 accuracy (%) on {label} (a suite that is not installed here, "
                                          "or declares no columns).")


def column_order(column_id):
    """Declared columns in their order, then the generic ones by id."""
    ids = list(declared_columns())
    return (0, ids.index(column_id), "") if column_id in ids else (1, 0, column_id)


def _generic_values(suite, variants, aggregates):
    if isinstance(aggregates.get("mean_error"), (int, float)):
        return {f"{suite}:mean_error": aggregates["mean_error"]}
    if len(variants) == 1:
        return {f"{suite}:top1": variants[0]["metrics"].get("top1")}
    return {f"{suite}:{v['name'].rsplit('/', 1)[-1]}": v["metrics"].get("top1") for v in variants}


# --- intervals ------------------------------------------------------------------------------------
PROPORTION_KEYS = ("top1", "top5", "error")  # a published value of these and the suite's size give its counts


def record_intervals(record, level=None):
    """{column id: (low, high)} of the columns one record gives, from its ``intervals`` section (or, for
    a record from before it, the Clopper-Pearson part computed from its counts): a variant column takes
    its variant's interval, an aggregate column the aggregate's bootstrap interval (present only when
    the record had its per-sample store); joined columns have none here (they need two records)."""
    from robench.datasets import find_suite
    from robench.datasets.suite import _variant
    from robench.stats.record_intervals import aggregate_interval, intervals_of, value_interval
    from robench.stats.intervals import DEFAULT_LEVEL

    section = intervals_of(record, DEFAULT_LEVEL if level is None else level)
    suite = find_suite(suite_key(record["suite"]["name"]))
    out = {}
    if suite is not None and suite.columns:
        for col in suite.columns:
            found = None
            if col.source == "aggregate":
                found = aggregate_interval(section, col.key)
            elif col.source == "variant":
                variant = _variant(record["variants"], col.variant)
                found = None if variant is None else value_interval(section, variant["name"], col.key)
            if found is not None:
                out[col.id] = found
        return out
    name = suite_key(record["suite"]["name"])
    by_part = {v["name"].rsplit("/", 1)[-1]: v["name"] for v in record["variants"]}
    for cid in _generic_values(name, record["variants"], record.get("aggregates") or {}):
        what = cid.partition(":")[2]
        if what == "mean_error":
            found = aggregate_interval(section, "mean_error")
        else:
            variant = record["variants"][0]["name"] if what == "top1" else by_part.get(what)
            found = None if variant is None else value_interval(section, variant, "top1")
        if found is not None:
            out[cid] = found
    return out


def published_n(column_id):
    """The number of images behind a published value of ``column_id``: the released size of the suite that
    declares it (``Suite.n_official``), for columns that are one variant's top-1, top-5 or error; None
    otherwise (aggregates, shape bias, suites of unknown size), where a published number gives no counts."""
    from robench.datasets import SUITES, get_suite

    for name in SUITES.names():
        suite = get_suite(name)
        for col in suite.columns:
            if col.id == column_id:
                ok = col.source == "variant" and col.key in PROPORTION_KEYS and isinstance(suite.n_official, int)
                return suite.n_official if ok else None
    return None


def published_interval(column_id, value, level=None):
    """(low, high) of a published percentage of ``column_id`` (a reported or imported row): Clopper-Pearson
    on k = round(value / 100 x n) of n = ``published_n`` images; None where n is not known. Values given to
    3 decimals on 50,000 images (timm's) recover k exactly; to 1 decimal, k is within 0.05% of n."""
    found = published_intervals(column_id, [value], level)
    return None if found is None or found[0] is None else found[0]


def published_intervals(column_id, values, level=None):
    """``published_interval`` of many values of one column at once: [(low, high) or None], or None when
    the column's n is not known."""
    import numpy as np

    from robench.stats.intervals import DEFAULT_LEVEL, clopper_pearson_many

    n = published_n(column_id)
    if n is None:
        return None
    values = np.asarray([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    ok = np.isfinite(values) & (values >= 0) & (values <= 100)
    k = np.round(np.where(ok, values, 0.0) / 100 * n)
    low, high = clopper_pearson_many(k, n, DEFAULT_LEVEL if level is None else level)
    return [(100 * float(lo), 100 * float(hi)) if good else None for lo, hi, good in zip(low, high, ok)]
