"""Is a record's shown numbers what its additive state says? Checked before a record is shown.

A record stores each variant's metric *state* (exact counts and sums) and the metrics computed from it,
plus suite aggregates computed from the variants. The leaderboard and ``robench report`` show the
stored numbers, so a hand-edited record (``metrics.top1`` set to 42, the five fog variants deleted while
the stored mCE stays) would be shown as if it were whole. This module recomputes the metrics from each
variant's state and the suite's aggregates from the variants, and names the first disagreement; such a
record is skipped with one line, never shown. Old records whose metric set this robench no longer has are
not second-guessed (their states cannot be recomputed), only checked for types.

Two depths: ``full`` recomputes every metric through the metric set (torch: the leaderboard); without
it, only the counts every record has (top-1/top-5/error from ``correct1``/``correct5``/``n``) and the
suite aggregates are checked, which needs no torch (``robench report`` stays cheap to start).
"""
import math
from numbers import Real

TOLERANCE = 1e-6  # stored numbers went through JSON floats; recomputed ones must agree to this


def state_problem(state, path="state"):
    """Why a variant's state is not made of numbers ('' when it is): a string count crashes every sum."""
    if isinstance(state, bool) or (isinstance(state, Real) and math.isfinite(state)):
        return ""
    if isinstance(state, Real):
        return f"{path} is NaN or infinite"
    if isinstance(state, dict):
        for key, value in state.items():
            found = state_problem(value, f"{path}.{key}")
            if found:
                return found
        return ""
    if isinstance(state, list):
        for i, value in enumerate(state):
            found = state_problem(value, f"{path}[{i}]")
            if found:
                return found
        return ""
    return f"{path} is {type(state).__name__} {state!r:.40}, not a number"


def disagreement(record, suite=None, full=True):
    """The first place where ``record`` (a validated record dict) disagrees with its own state, or None."""
    for variant in record["variants"]:
        problem = state_problem(variant.get("state") or {}, f"variant {variant['name']}: state")
        if problem:
            return problem
        found = _counts_disagree(variant)
        if found:
            return found
    metric_set = _metric_set(record) if full else None
    if metric_set is not None:
        for variant in record["variants"]:
            found = _metrics_disagree(variant, metric_set)
            if found:
                return found
    if suite is not None and not (record.get("run") or {}).get("task"):
        return _aggregates_disagree(record, suite)
    return None


def _metric_set(record):
    """The record's metric set if this robench can recompute it (same names, same id), else None."""
    from robench.errors import RobenchError
    from robench.metrics.base import MetricSet

    said = record.get("metric_set") or {}
    try:
        metric_set = MetricSet(said.get("metrics"))
    except (RobenchError, TypeError, KeyError):
        return None
    return metric_set if metric_set.id == said.get("id") else None


COUNTED = (("top1", "correct1", False), ("top5", "correct5", False), ("error", "correct1", True))


def _counts_disagree(variant):
    """top-1, top-5 and error against the counts they are made of (no torch needed)."""
    state, metrics = variant.get("state") or {}, variant.get("metrics") or {}
    for field in ("n", "correct1", "correct5"):
        value = state.get(field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, Real)):
            return f"variant {variant['name']}: state.{field} is {type(value).__name__}, not a count"
    n = state.get("n")
    if not n:
        return None
    for name, field, complement in COUNTED:
        if name in metrics and field in state and metrics[name] is not None:
            value = 100.0 * state[field] / n
            value = 100.0 - value if complement else value
            if not _same(metrics[name], value):
                return (f"variant {variant['name']}: metrics.{name} = {metrics[name]} but its state gives "
                        f"{_shown(value)} (edited by hand? rerun or merge to rewrite it)")
    return None


def _metrics_disagree(variant, metric_set):
    from robench.errors import RobenchError

    where = f"variant {variant['name']}"
    try:
        state = metric_set.restore(variant.get("state") or {}, where)
    except (RobenchError, KeyError, TypeError, ValueError) as e:
        return f"{where}: its state is not a state of its metric set ({' '.join(str(e).split())[:160]})"
    if state.count != variant["n_seen"]:
        return f"{where}: n_seen {variant['n_seen']} but its state counts {state.count} images"
    for name, value in state.compute().items():
        stored = (variant.get("metrics") or {}).get(name)
        if not _same(stored, value):
            return (f"{where}: metrics.{name} = {stored} but its state gives {_shown(value)} "
                    "(edited by hand? rerun or merge to rewrite it)")
    return None


def _aggregates_disagree(record, suite):
    stored = record.get("aggregates") or {}
    try:
        computed = suite.aggregates(record["variants"])
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as e:
        return f"its variants cannot give {suite.name}'s aggregates ({type(e).__name__}: {e})"
    for key, value in computed.items():
        if key in ("notes", "definitions") or key not in stored:
            continue
        if not _same_tree(stored[key], value):
            return (f"aggregates.{key} = {_shown(stored[key])} but its variants give {_shown(value)} "
                    "(variants deleted or values edited by hand?)")
    return None


def _same(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, Real) or not isinstance(b, Real):
        return a == b
    return math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def _same_tree(a, b):
    if isinstance(a, dict) and isinstance(b, dict):
        return set(a) == set(b) and all(_same_tree(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same_tree(x, y) for x, y in zip(a, b))
    if isinstance(a, Real) or isinstance(b, Real) or a is None or b is None:
        return _same(a, b)
    return a == b


def _shown(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
