"""The detail tables and plots of a corruption benchmark's leaderboard section: top-1 error per
corruption (mean over severities), per corruption and severity, and error against severity."""
import pandas as pd

from robench.datasets.declare import DetailTable, Plot


def _cell_errors(variants):
    cells = {}
    for v in variants:
        if v.get("corruption") is None or v.get("severity") is None:
            continue
        m = v.get("metrics") or {}
        error = m.get("error")
        if error is None and m.get("top1") is not None:
            error = 100 - m["top1"]
        cells[(v["corruption"], v["severity"])] = error
    return cells


def _ordered_keys(dicts):
    seen = []
    for d in dicts:
        seen.extend(k for k in (d or {}) if k not in seen)
    return seen


def frames(suite, rows):
    """(per corruption, per severity, curves) DataFrames for (label, record, joined) rows; None if none."""
    if not rows:
        return None
    rows = sorted(rows, key=lambda r: r[0])
    aggs = [r[1].get("aggregates") or {} for r in rows]
    benchmark = _ordered_keys(a.get("corruption_error") for a in aggs)
    extra = _ordered_keys(a.get("extra_corruption_error") for a in aggs)
    per_corruption, per_severity, curves = [], [], []
    for (label, record, joined), agg in zip(rows, aggs):
        row = {"Model": label, "mean": agg.get("mean_error")}
        row.update({c: (agg.get("corruption_error") or {}).get(c) for c in benchmark})
        row.update({"extra mean": agg.get("extra_mean_error")} if extra else {})
        row.update({c: (agg.get("extra_corruption_error") or {}).get(c) for c in extra})
        per_corruption.append(row)
        cells = _cell_errors(record["variants"])
        for severity in sorted({s for _, s in cells}):
            errors = {c: cells.get((c, severity)) for c in benchmark + extra}
            shown = [errors[c] for c in benchmark if errors[c] is not None]
            mean = sum(shown) / len(shown) if shown and len(shown) == len(benchmark) else None
            per_severity.append({"Model": label, "severity": severity, "mean": mean, **errors})
            curves.append({"model": label, "x": severity, "y": mean})
        clean = (joined or {}).get("clean_error")
        if clean is not None:
            curves.append({"model": label, "x": 0, "y": clean})
    return pd.DataFrame(per_corruption), pd.DataFrame(per_severity), pd.DataFrame(curves)


def detail_tables(suite, rows):
    made = frames(suite, rows)
    if made is None:
        return []
    per_corruption, per_severity, _ = made
    cset = suite.corruption_set
    name, n_b, n_s = cset.name, len(cset.benchmark), len(cset.severities)
    return [
        DetailTable(f"{name} by corruption",
                    f"Top-1 error (%) per corruption, mean over its {n_s} severities ↓. `mean` is the mean over the "
                    f"{n_b} benchmark corruptions (the main table's {name} mean error); columns from `extra mean` "
                    "on are the extra corruptions, never part of mCE. Reported rows give no per-corruption "
                    "numbers.", per_corruption, text_columns=1),
        DetailTable(f"{name} top-1 error (%) per corruption and severity", "", per_severity, text_columns=2,
                    lower_is_better=None, collapsed=True),
    ]


def plots(suite, rows):
    made = frames(suite, rows)
    if made is None:
        return []
    per_corruption, _, curves = made
    name, severities = suite.corruption_set.name, suite.corruption_set.severities
    bars = per_corruption.set_index("Model").drop(columns=["mean", "extra mean"], errors="ignore")
    ticks = ((0, *severities), ("clean", *(str(s) for s in severities)))
    return [Plot("bars", f"{suite.name}-corruptions", f"{name} top-1 error per corruption (mean over severities)",
                 bars, ylabel="top-1 error (%), mean over severities ↓"),
            Plot("lines", f"{suite.name}-severity",
                 f"{name} top-1 error vs severity (mean over the benchmark corruptions)", curves,
                 xlabel="severity", ylabel="top-1 error (%), mean over corruptions ↓", xticks=ticks)]
