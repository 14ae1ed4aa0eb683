"""The leaderboard's tables: rows assembled as pandas DataFrames, rendered to markdown with tabulate.

Everything here is a pure function of the entries and the reported rows, and every order is explicit,
so the same inputs give the same bytes (``robench leaderboard --check`` relies on it). Values are shown
with one decimal, like the paper; a missing value is "–", never 0; the best value of a column within a
table is bold when at least two rows have one (ties, compared as shown, are all bold).
"""
import re

import pandas as pd
from tabulate import tabulate

from robench.leaderboard.columns import COLUMN_BY_ID, COLUMNS, column, column_order, record_values
from robench.leaderboard.protocol import reported_protocol_key, section_order

MISSING = "–"
MEASURED = "measured by robench"
META = ("section", "model", "identity", "kind", "source", "params_m")
CORE_IDS = [c.id for c in COLUMNS if c.core]


def model_labels(entries):
    """Display name per (section, model id): the model name, plus a checkpoint hash if two share a name."""
    ids = sorted({(e.key, e.model_id) for e in entries})
    labels = {}
    for key, (name, sha) in ids:
        clash = sum(1 for k, (n, _) in ids if k == key and n == name) > 1
        labels[(key, (name, sha))] = f"{name} ({sha[:8] or 'no checkpoint'})" if clash else name
    return labels


def main_rows(entries, reported):
    """One row per (section, model, source): measured rows from records, reported rows from the CSV."""
    labels = model_labels(entries)
    rows = {}
    for e in entries:
        row = rows.setdefault((e.key, e.model_id), {
            "section": e.key, "model": labels[(e.key, e.model_id)], "identity": e.model_id, "kind": 0,
            "source": MEASURED, "params_m": _params_m(e.record["model"].get("params"))})
        row.update({cid: v for cid, v in record_values(e.record).items() if v is not None})
    out = list(rows.values())
    for _, r in reported.iterrows():
        row = {"section": reported_protocol_key(r.get("protocol")), "model": r["model"], "identity": (r["model"], ""),
               "kind": 1, "source": f"reported: {r['source']}", "params_m": _nan_to_none(r.get("params_m"))}
        row.update({c: float(r[c]) for c in reported.columns if c in COLUMN_BY_ID and pd.notna(r[c])})
        out.append(row)
    out.sort(key=lambda r: (section_order(r["section"]), r["model"], r["kind"], r["source"], r["identity"]))
    frame = pd.DataFrame(out, columns=list(META) + sorted({k for r in out for k in r if k not in META},
                                                          key=column_order))
    return frame


def sections(frame):
    """Protocol keys present, in display order."""
    return sorted(set(frame["section"]), key=section_order) if len(frame) else []


def metric_ids(frame, standard=True):
    """Columns with a value in some row; the standard section always shows the core columns too."""
    filled = [c for c in frame.columns if c not in META and frame[c].notna().any()]
    if standard or not filled:
        filled = set(filled) | set(CORE_IDS)
    return sorted(filled, key=column_order)


def main_table(frame, standard=True):
    """Markdown table of one section's rows."""
    ids = metric_ids(frame, standard)
    body = {"Model": list(frame["model"]), "Source [^source]": list(frame["source"])}
    for cid in ids:
        col = column(cid)
        values = frame[cid] if cid in frame.columns else pd.Series([None] * len(frame), dtype=float)
        body[header(col)] = format_column(values, col.higher_is_better)
    body["Params (M) [^params_m]"] = format_column(frame["params_m"], None, decimals=2)
    return render(pd.DataFrame(body), left=2)


def header(col):
    arrow = "↑" if col.higher_is_better else "↓"
    return f"{col.header} {arrow} [^{footnote_label(col.id)}]"


def footnote_label(column_id):
    return re.sub(r"[^A-Za-z0-9_-]", "-", column_id)


def format_column(values, higher_is_better, decimals=1):
    """Strings for a column: fixed decimals, "–" for missing, best in bold (None: no bold)."""
    values = pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce")
    text = [MISSING if pd.isna(v) else f"{v:.{decimals}f}" for v in values]
    shown = [float(t) for t in text if t != MISSING]
    if higher_is_better is None or len(shown) < 2:
        return text
    best = max(shown) if higher_is_better else min(shown)
    return [f"**{t}**" if t != MISSING and float(t) == best else t for t in text]


def render(table, left=1):
    """A DataFrame of strings as a GitHub markdown table; the first ``left`` columns left-aligned."""
    align = ["left"] * left + ["right"] * (len(table.columns) - left)
    cells = [[str(cell).replace("|", "\\|") for cell in row] for row in table.values.tolist()]
    return tabulate(cells, headers=list(table.columns), tablefmt="pipe", disable_numparse=True, colalign=align)


def imagenet_c_frames(entries, labels):
    """Per-corruption and per-severity error tables, and severity curves, for one section's ImageNet-C records.

    Returns (per_corruption, per_severity, curves) DataFrames, or None when the section has none.
    """
    records = sorted(((labels[(e.key, e.model_id)], e.record) for e in entries if e.suite == "imagenet-c"),
                     key=lambda item: item[0])
    if not records:
        return None
    benchmark = _ordered_keys(r.get("aggregates", {}).get("corruption_error") for _, r in records)
    extra = _ordered_keys(r.get("aggregates", {}).get("extra_corruption_error") for _, r in records)
    per_corruption, per_severity, curves = [], [], []
    for label, record in records:
        agg = record.get("aggregates") or {}
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
            curves.append({"model": label, "severity": severity, "error": mean})
        if agg.get("clean_error") is not None:
            curves.append({"model": label, "severity": 0, "error": agg["clean_error"]})
    return pd.DataFrame(per_corruption), pd.DataFrame(per_severity), pd.DataFrame(curves)


def error_table(frame, left, bold=True):
    """Markdown for an error table (lower is better): numeric columns formatted, the rest as they are."""
    body = {}
    for name in frame.columns:
        if name in ("Model", "severity"):
            body[name] = [str(v) for v in frame[name]]
        else:
            body[name] = format_column(frame[name], False if bold else None)
    return render(pd.DataFrame(body), left=left)


def _ordered_keys(dicts):
    seen = []
    for d in dicts:
        seen.extend(k for k in (d or {}) if k not in seen)
    return seen


def _cell_errors(variants):
    cells = {}
    for v in variants:
        if v.get("corruption") is None or v.get("severity") is None:
            continue
        m = v["metrics"]
        error = m.get("error")
        if error is None and m.get("top1") is not None:
            error = 100 - m["top1"]
        cells[(v["corruption"], v["severity"])] = error
    return cells


def _params_m(params):
    return params / 1e6 if isinstance(params, int) and not isinstance(params, bool) else None


def _nan_to_none(value):
    return None if value is None or pd.isna(value) else float(value)
