"""The ``intervals`` section of a record: each value's interval next to it, with its method and level.

Why in the record: a number without its uncertainty invites reading 45.9 vs 46.0 as a difference. The
section is computed when the record is written (``robench eval``, ``robench merge``, ``robench rescore``)
from what is exact there: each variant's counts (Clopper-Pearson, ``variant_intervals``) and, when the
record has its per-sample store, the suite's aggregates by the seeded paired bootstrap over image ids
(``robench.stats.records``: a draw depends only on the seed and the images, so a merged record's
section equals a one-process record's). Records written before the section existed have none; readers
call ``intervals_of``, which gives them the count-based part (nothing in a record is needed beyond its
counts), never a bootstrap without the store.

Form (``VERSION`` 1; docs/records.md)::

    "intervals": {"version": 1, "level": 0.95,
                  "variants": {"method": "clopper-pearson",
                               "values": {"imagenet-c/fog/3": {"top1": [low, high], "top5": [...], ...}}},
                  "aggregates": {"method": "paired-bootstrap", "resampled": "image ids", "draws": 1000, "seed": 0,
                                 "values": {"mce": [low, high], "ce": {"fog": [low, high], ...}, ...}}}

``aggregates`` is there only when the store was. Values joined from two records (relative mCE,
clean-subset top-1) are not in records, so neither are their intervals: ``robench report --intervals``
computes them.
"""
import numpy as np

from robench.stats.bootstrap import DEFAULT_DRAWS, DEFAULT_SEED, percentile_interval
from robench.stats.intervals import DEFAULT_LEVEL, DEFAULT_METHOD

VERSION = 1
BOOTSTRAP = "paired-bootstrap"
_NOT_NUMBERS = ("definitions", "notes", "preprocessing", "nonfinite")  # text, or a count that is no estimate


def record_intervals(record, columns=None, level=DEFAULT_LEVEL, draws=DEFAULT_DRAWS, seed=DEFAULT_SEED):
    """The ``intervals`` section of ``record`` (a JSON-ready dict with its aggregates): Clopper-Pearson per
    variant from the counts; with ``columns`` (its per-sample store, ``predictions.read_columns``) and
    ``draws`` > 0, the bootstrap of every numeric aggregate the suite computes."""
    from robench.stats.records import variant_intervals

    values = {}
    for variant in record["variants"]:
        found = variant_intervals(variant, level, DEFAULT_METHOD)
        if found:
            values[variant["name"]] = {k: [float(lo), float(hi)] for k, (lo, hi) in found.items()}
    out = {"version": VERSION, "level": level, "variants": {"method": DEFAULT_METHOD, "values": values}}
    if columns is not None and draws > 0:
        aggregates = aggregate_intervals(record, columns, level, draws, seed)
        if aggregates:
            out["aggregates"] = {"method": BOOTSTRAP, "resampled": "image ids", "draws": draws, "seed": seed,
                                 "values": aggregates}
    return out


def aggregate_intervals(record, columns, level=DEFAULT_LEVEL, draws=DEFAULT_DRAWS, seed=DEFAULT_SEED):
    """{aggregate: [low, high]} (one level of nesting kept: ``ce`` -> {corruption: [low, high]}) of the
    suite's numeric aggregates under the paired bootstrap; {} when there are none or the store cannot
    resample the record. Suites without numeric aggregates cost nothing (no draw is made)."""
    from robench.datasets import find_suite
    from robench.stats.records import drawn_variants, resampled_counts

    if not has_aggregates(record):
        return {}
    suite = find_suite(record["suite"]["name"])
    resampled = resampled_counts(record, columns, draws, seed)
    if resampled is None:
        return {}
    samples = {}
    for d in range(draws):
        for path, value in _numbers(suite.aggregates(drawn_variants(record, resampled, d))).items():
            samples.setdefault(path, np.full(draws, np.nan))[d] = value
    out = {}
    for (key, sub), values in samples.items():
        interval = percentile_interval(values, level)
        if interval is None:
            continue
        if sub is None:
            out[key] = list(interval)
        else:
            out.setdefault(key, {})[sub] = list(interval)
    return out


def has_aggregates(record):
    """Whether the record's suite computes numeric aggregates from its variants (else there is nothing to
    bootstrap, and the store is not even read)."""
    from robench.datasets import find_suite

    suite = find_suite(record["suite"]["name"])
    return suite is not None and bool(_numbers(suite.aggregates(record["variants"])))


def intervals_of(record, level=DEFAULT_LEVEL):
    """A record's ``intervals`` section: the stored one, else (a record from before it, or one written at
    another level) the count-based part computed now."""
    stored = record.get("intervals")
    if isinstance(stored, dict) and stored.get("version") == VERSION and stored.get("level") == level:
        return stored
    return record_intervals(record, None, level)


def value_interval(intervals, variant, value):
    """(low, high) of ``value`` of variant ``variant`` in an ``intervals`` section, or None."""
    found = ((intervals.get("variants") or {}).get("values") or {}).get(variant, {}).get(value)
    return None if found is None else tuple(found)


def aggregate_interval(intervals, key, sub=None):
    """(low, high) of aggregate ``key`` (``sub``: its entry, e.g. a corruption of ``ce``), or None."""
    found = ((intervals.get("aggregates") or {}).get("values") or {}).get(key)
    if sub is not None:
        found = found.get(sub) if isinstance(found, dict) else None
    return tuple(found) if isinstance(found, list) else None


def describe(intervals):
    """One line naming the section's methods, e.g. for a table's legend."""
    level = f"{100 * intervals.get('level', DEFAULT_LEVEL):g}%"
    parts = [f"{level} Clopper-Pearson per variant (from the counts)"]
    boot = intervals.get("aggregates")
    if boot:
        parts.append(f"{level} paired bootstrap over image ids for the aggregates ({boot['draws']} draws, "
                     f"seed {boot['seed']})")
    return "; ".join(parts)


def check(section, where):
    """RecordError unless ``section`` is an intervals section this robench reads (a newer version is
    refused with what to do, not misread)."""
    from robench.errors import RecordError

    if not isinstance(section, dict) or section.get("version") != VERSION:
        version = section.get("version") if isinstance(section, dict) else section
        raise RecordError(f"{where}: intervals section of version {version!r}; this robench reads version "
                          f"{VERSION} (upgrade robench, or delete the record's 'intervals' and rescore)")
    bad = _bad_pair(section.get("variants", {}).get("values", {})) or \
        _bad_pair((section.get("aggregates") or {}).get("values", {}))
    if bad:
        raise RecordError(f"{where}: intervals.{bad} is not a [low, high] pair of finite numbers")


def _bad_pair(tree, path=""):
    if isinstance(tree, list):
        ok = len(tree) == 2 and all(isinstance(x, (int, float)) and np.isfinite(x) for x in tree) and tree[0] <= tree[1]
        return "" if ok else (path or "value")
    if isinstance(tree, dict):
        for key, value in tree.items():
            found = _bad_pair(value, f"{path}.{key}" if path else str(key))
            if found:
                return found
        return ""
    return path or "value"


def _numbers(aggregates):
    """{(key, None or sub key): number} of an aggregates dict: its numbers and its dicts of numbers."""
    out = {}
    for key, value in aggregates.items():
        if key in _NOT_NUMBERS:
            continue
        if _is_number(value):
            out[(key, None)] = float(value)
        elif isinstance(value, dict):
            out.update({(key, str(sub)): float(v) for sub, v in value.items() if _is_number(v)})
    return out


def _is_number(value):
    return isinstance(value, (int, float, np.floating)) and not isinstance(value, bool) and np.isfinite(value)


def attach(record, store=None, columns=None):
    """Sets ``record.intervals`` (a ``results.Record``) when it is written: from its counts, and from its
    per-sample store (``columns``, or read from the ``store`` path when that file belongs to the record).
    Task records get none: like their aggregates, the merge computes them over all the data."""
    import os

    if record.run.get("task"):
        record.intervals = None
        return record
    if columns is None and store is not None and os.path.isfile(store) and has_aggregates(record.to_json()):
        from robench.engine import predictions

        if predictions.identity_of(store) == predictions.record_identity(record):
            columns = predictions.read_columns(store)
    record.intervals = record_intervals(record.to_json(), columns)
    return record
