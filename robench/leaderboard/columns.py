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
