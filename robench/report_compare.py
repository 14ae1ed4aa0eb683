"""Two models of a report side by side: ``robench report --compare A B`` and ``robench.api.compare``.

Per column where both have a value: A, B, B - A and the better one by the column's direction, within the
protocol sections both share; with per-sample stores also B - A's paired-bootstrap interval and, per variant,
McNemar's exact test and error consistency. Built on ``robench.report``'s frames and column helpers.
"""
import json
import math

import pandas as pd

from robench.errors import RobenchError
from robench.report import META, _arrow, _check_format, _column, _json_records, _sections


def compare(frame, a, b, paired=None):
    """Model ``b`` against model ``a`` (labels of the frame's ``model`` column), per column where both
    have a value: one row per (section, column) with a, b, b - a and the better model by the column's
    direction. Within the protocol sections both share; when they share none and each has one row,
    across sections (``attrs["note"]`` says so).

    ``paired`` (default: when the frame was made with ``intervals``) adds ``b_minus_a_low``/``_high``, the
    paired-bootstrap interval of B - A (NaN unless both models have per-sample stores), and
    ``attrs["per_variant"]``: McNemar's exact test and error consistency per variant (``per_variant_tests``)."""
    names = list(dict.fromkeys(frame["model"]))
    for name in (a, b):
        if name not in names:
            from robench.registry import close_names

            raise RobenchError(f"unknown model '{name}' in this report.{close_names(name, names)} "
                               f"Models: {', '.join(names)}")
    pairs, note = _pairs(frame, a, b)
    paired = "draws" in frame.attrs if paired is None else paired
    ids = [c for c in frame.columns if c not in META]
    out = []
    for title, row_a, row_b in pairs:
        for cid in ids:
            va, vb = row_a[cid], row_b[cid]
            if pd.isna(va) or pd.isna(vb):
                continue
            col = _column(cid)
            better = "" if va == vb else (b if (vb > va) == bool(col.higher_is_better) else a)
            row = {"section": title, "column": cid, "header": col.header,
                   "higher_is_better": bool(col.higher_is_better), "model_a": a, "a": float(va),
                   "model_b": b, "b": float(vb), "b_minus_a": float(vb - va), "better": better}
            if paired:
                row.update(_paired_difference(frame.attrs, row_a, row_b, cid))
            out.append(row)
    if not out:
        raise RobenchError(f"{a} and {b} have no column in common: evaluate them on the same suite(s)")
    result = pd.DataFrame(out)
    result.attrs["note"] = note
    if paired:
        result.attrs["per_variant"] = per_variant_tests(frame, a, b)
    return result


def _paired_difference(attrs, row_a, row_b, cid):
    """{"low", "high"} of B - A by the paired bootstrap (NaN without both models' per-sample stores)."""
    from robench.stats import percentile_interval

    draws = attrs.get("draws") or {}
    da, db = draws.get((row_a["section"], row_a["model"], cid)), draws.get((row_b["section"], row_b["model"], cid))
    interval = None if da is None or db is None else percentile_interval(db - da, attrs.get("interval_level", 0.95))
    return {"b_minus_a_low": math.nan if interval is None else interval[0],
            "b_minus_a_high": math.nan if interval is None else interval[1]}


def per_variant_tests(frame, a, b):
    """One row per variant both models have in a shared section, where both have per-sample stores:
    the images (matched by image id), each model's top-1, McNemar's exact test on the discordant
    images and Geirhos et al.'s error consistency kappa (``robench.stats``)."""
    from robench.stats import error_consistency, mcnemar_exact

    stores = frame.attrs.get("stores") or {}
    rows = []
    sections = [s for s in dict.fromkeys(frame["section"]) if (s, a) in stores and (s, b) in stores]
    for section in sections:
        theirs = {rec["suite"]["name"]: (rec, cols) for rec, cols in stores[(section, b)] if cols is not None}
        for rec_a, cols_a in stores[(section, a)]:
            if cols_a is None or rec_a["suite"]["name"] not in theirs:
                continue
            rec_b, cols_b = theirs[rec_a["suite"]["name"]]
            for variant in rec_a["variants"]:
                hit_a, hit_b = _correct_by_image(cols_a, variant["name"]), _correct_by_image(cols_b, variant["name"])
                shared = [i for i in hit_a if i in hit_b]
                if not shared:
                    continue
                x, y = [hit_a[i] for i in shared], [hit_b[i] for i in shared]
                test, kappa = mcnemar_exact(x, y), error_consistency(x, y)
                rows.append({"section": section, "suite": rec_a["suite"]["name"], "variant": variant["name"],
                             "n": len(shared), "a_top1": 100 * kappa.accuracy_a, "b_top1": 100 * kappa.accuracy_b,
                             "a_only": test["a_only"], "b_only": test["b_only"], "mcnemar_p": test["p_value"],
                             "error_consistency": kappa.kappa})
    return pd.DataFrame(rows, columns=["section", "suite", "variant", "n", "a_top1", "b_top1", "a_only", "b_only",
                                       "mcnemar_p", "error_consistency"])


def _correct_by_image(columns, variant):
    """{image id: top-1 correct} of one variant's rows of a per-sample store."""
    import numpy as np

    from robench.stats.records import image_ids

    picked = np.flatnonzero(np.asarray(columns["variant"], dtype=object) == variant)
    hits = columns["top5_class"][picked, 0] == columns["label"][picked]
    return dict(zip(image_ids([columns["key"][i] for i in picked]), hits.tolist()))


def render_comparison(comparison, fmt="table"):
    """A ``compare`` frame as text: a table per section ("table", "markdown"; two decimals, so that B - A
    agrees with the numbers beside it), or every field unrounded ("csv", "json")."""
    per_variant = comparison.attrs.get("per_variant")
    if fmt == "csv":
        text = comparison.to_csv(index=False, lineterminator="\n")
        if per_variant is not None and len(per_variant):
            text += "\n" + per_variant.to_csv(index=False, lineterminator="\n")
        return text
    if fmt == "json":
        if per_variant is None:
            return json.dumps(comparison.to_dict("records"), indent=2, ensure_ascii=False) + "\n"
        doc = {"columns": _json_records(comparison), "per_variant": _json_records(per_variant)}
        return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    _check_format(fmt)
    from tabulate import tabulate

    a, b = comparison["model_a"].iloc[0], comparison["model_b"].iloc[0]
    with_ci = "b_minus_a_low" in comparison.columns
    tablefmt = "pipe" if fmt == "markdown" else "simple"
    parts = []
    for title, rows in _sections(comparison):
        cells = [[f"{r.header} {_arrow(r.higher_is_better)}", f"{r.a:.2f}", f"{r.b:.2f}", f"{r.b_minus_a:+.2f}",
                  *([_ci_text(r.b_minus_a_low, r.b_minus_a_high)] if with_ci else []),
                  "=" if not r.better else ("← A" if r.better == a else "B →")] for r in rows.itertuples()]
        headers = ["Column", f"A: {a}", f"B: {b}", "B - A", *(["95% paired CI"] if with_ci else []), "better"]
        table = tabulate([[str(c).replace("|", "\\|") if fmt == "markdown" else c for c in row] for row in cells],
                         headers=headers, tablefmt=tablefmt, disable_numparse=True,
                         colalign=("left", "right", "right", "right", *(["right"] if with_ci else []), "left"))
        parts.append(f"{'## ' if fmt == 'markdown' else ''}{title}\n\n{table}")
    if per_variant is not None and len(per_variant):
        cells = [[r.variant, r.n, f"{r.a_top1:.2f}", f"{r.b_top1:.2f}", r.a_only, r.b_only, f"{r.mcnemar_p:.3g}",
                  "–" if r.error_consistency is None or pd.isna(r.error_consistency) else f"{r.error_consistency:.3f}"]
                 for r in per_variant.itertuples()]
        table = tabulate(cells, headers=["Variant", "images", "A top-1", "B top-1", "A only", "B only",
                                         "McNemar p", "error consistency"], tablefmt=tablefmt, disable_numparse=True)
        parts.append(f"{'## ' if fmt == 'markdown' else ''}Per variant: McNemar's exact test on the images one model "
                     f"got right and the other wrong; error consistency kappa (Geirhos et al. 2020)\n\n{table}")
    return "\n\n".join(parts) + "\n"


def _pairs(frame, a, b):
    """[(section title, row of a, row of b)] and a note ('' when the sections are shared)."""
    rows_a, rows_b = frame[frame["model"] == a], frame[frame["model"] == b]
    shared = [s for s in dict.fromkeys(rows_a["section"]) if s in set(rows_b["section"])]
    if shared:
        return [(s, rows_a[rows_a["section"] == s].iloc[0], rows_b[rows_b["section"] == s].iloc[0])
                for s in shared], ""
    if len(rows_a) == 1 and len(rows_b) == 1:
        sa, sb = rows_a["section"].iloc[0], rows_b["section"].iloc[0]
        note = (f"{a} and {b} share no protocol section: compared across protocols (named above the "
                "table), so B - A mixes the models' difference with the protocols'")
        return [(f"A: {sa} / B: {sb}", rows_a.iloc[0], rows_b.iloc[0])], note
    raise RobenchError(f"{a} and {b} share no protocol section ({a}: {'; '.join(rows_a['section'])}; {b}: "
                       f"{'; '.join(rows_b['section'])}): their numbers are not comparable")


def _ci_text(low, high):
    return "–" if pd.isna(low) or pd.isna(high) else f"[{low:+.2f}, {high:+.2f}]"
