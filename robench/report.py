"""The paper-style table of an ``robench eval --out`` folder: models as rows, suites' columns as columns.

It is the leaderboard's main table without reported rows, detail tables or plots, built by the
leaderboard's own machinery (``load_entries``, ``main_rows``, the suites' column declarations, the
protocol sections and the report-time joins of ``robench.joins``), so a number means the same thing
in both. Records measured under different protocols land in different sections, exactly as on the
leaderboard. Importing this module is cheap (pandas and tabulate, no torch): ``robench eval`` prints
a report after a multi-suite run and notebooks call ``report_frame``/``render`` directly.
"""
import json
import math
import os
import re

import pandas as pd

from robench.errors import RobenchError

FORMATS = ("table", "markdown", "csv", "json")
META = ("section", "model")
LEGEND = "Values are percent; ↑ higher is better, ↓ lower is better; – means not measured."
LEGEND_MARKDOWN = ("Values are percent; ↑ higher is better, ↓ lower is better; **bold** is the best value of its "
                   "column within its table; – means not measured.")
_TASK_FILE = re.compile(r"^(?P<suite>.+)\.task-\d+-of-\d+\.json$")


def load_results(directory):
    """(entries, problems) of the records under ``directory`` (``<dir>/<model>/<suite>.json`` or flat
    ``<dir>/*.json``): hidden folders such as ``.slices`` are not read; bad records and task records come back
    as ``Problem``s naming the file, never as exceptions."""
    from robench.leaderboard.load import Problem, load_entries

    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise RobenchError(f"results directory {directory} does not exist: {_run_eval(directory)}")
    entries, problems = load_entries(directory, recompute=False)  # counts and aggregates: no torch
    out = []
    for p in problems:
        m = _TASK_FILE.match(os.path.basename(p.path))
        merged = m and os.path.isfile(os.path.join(os.path.dirname(p.path), m["suite"] + ".json"))
        out.append(Problem(p.path, f"task record of a job-array task, already merged into {m['suite']}.json")
                   if merged else p)
    return entries, out


def no_records_error(directory, problems=()):
    """The error for a folder without a usable record: what to run, and why files there were not used."""
    why = ""
    if problems:
        why = f"; {len(problems)} file(s) there could not be used: " + "; ".join(str(p) for p in problems[:3])
    return RobenchError(f"no result records in {directory}: {_run_eval(directory)}{why}")


def report_frame(directory_or_entries, suites=None):
    """One row per (protocol section, model): columns ``section`` (its title), ``model`` (the label the
    leaderboard shows), then one float column per declared column id of the suites present (NaN: not
    measured). ``suites`` restricts and orders the columns (see ``report_columns``); rows left without
    a value are dropped. For a directory, the skipped files are in ``frame.attrs["problems"]``."""
    from robench.leaderboard import tables
    from robench.leaderboard.load import REPORTED_TEXT_COLUMNS
    from robench.leaderboard.protocol import describe

    entries, problems = _entries(directory_or_entries)
    ids = report_columns(_ids_by_suite(entries), suites)
    reported = pd.DataFrame(columns=[*REPORTED_TEXT_COLUMNS, "params_m"])
    rows = tables.main_rows(entries, reported)
    body = {"section": [describe(k) for k in rows["section"]], "model": list(rows["model"])}
    for cid in ids:
        values = rows[cid] if cid in rows.columns else [None] * len(rows)
        body[cid] = pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce").astype(float)
    frame = pd.DataFrame(body, columns=[*META, *ids])
    if suites is not None:
        frame = frame[frame[ids].notna().any(axis=1)].reset_index(drop=True)
    frame.attrs["problems"] = list(problems)
    return frame


def report_columns(ids_by_suite, suites=None):
    """The column ids of a report: every id of ``ids_by_suite`` ({suite name: column ids its records
    give}) in the leaderboard's order, or, with ``suites`` (names, e.g. a collection's), the ids of those
    suites in that order. A name that is neither present nor installed is an error that suggests close
    names; installed suites without records add no column."""
    from robench.leaderboard.columns import column_order, suite_key

    if suites is None:
        return sorted({cid for ids in ids_by_suite.values() for cid in ids}, key=column_order)
    wanted = list(dict.fromkeys(suite_key(s) for s in suites))
    _check_suite_names(wanted, ids_by_suite)
    ids = [cid for s in wanted for cid in sorted(ids_by_suite.get(s, ()), key=column_order)]
    if not ids:
        present = ", ".join(sorted(ids_by_suite)) or "none"
        raise RobenchError(f"no records of suite(s) {', '.join(wanted)} here (suites with records: {present}): "
                           "evaluate them with robench eval --suite NAME, or choose other suites")
    return list(dict.fromkeys(ids))


def collection_suites(name):
    """The suite names of collection ``name`` (``robench.datasets.COLLECTIONS``); None: every suite."""
    try:
        from robench.datasets import COLLECTIONS
    except ImportError:
        raise RobenchError(f"--collection {name}: this robench has no suite collections "
                           "(robench.datasets.COLLECTIONS); leave out --collection") from None
    suites = COLLECTIONS.get(name).suites
    return None if suites is None else list(suites)


def render(frame, fmt="table"):
    """A report frame as text: "table" (terminal), "markdown" (GitHub pipe tables with footnoted column
    definitions), "csv" (unrounded, column ids as headers) or "json" (column definitions and rows)."""
    ids = [c for c in frame.columns if c not in META]
    if fmt == "csv":
        return frame[[*META, *ids]].to_csv(index=False, lineterminator="\n")
    if fmt == "json":
        doc = {"columns": [_definition(cid) for cid in ids],
               "rows": [{k: _json_value(v) for k, v in row.items()} for row in frame[[*META, *ids]].to_dict("records")]}
        return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    _check_format(fmt)
    parts = [_section_table(title, section, ids, fmt) for title, section in _sections(frame)]
    if not parts:
        parts = ["No results."]
    if fmt == "markdown":
        notes = [f"[^{_footnote(cid)}]: **{_column(cid).header}**: {_column(cid).definition}" for cid in ids]
        return "\n\n".join(parts + [LEGEND_MARKDOWN] + (["\n".join(notes)] if notes else [])) + "\n"
    return "\n\n".join(parts + [LEGEND]) + "\n"


def compare(frame, a, b):
    """Model ``b`` against model ``a`` (labels of the frame's ``model`` column), per column where both
    have a value: one row per (section, column) with a, b, b - a and the better model by the column's
    direction. Within the protocol sections both share; when they share none and each has one row,
    across sections (``attrs["note"]`` says so)."""
    names = list(dict.fromkeys(frame["model"]))
    for name in (a, b):
        if name not in names:
            from robench.registry import close_names

            raise RobenchError(f"unknown model '{name}' in this report.{close_names(name, names)} "
                               f"Models: {', '.join(names)}")
    pairs, note = _pairs(frame, a, b)
    ids = [c for c in frame.columns if c not in META]
    out = []
    for title, row_a, row_b in pairs:
        for cid in ids:
            va, vb = row_a[cid], row_b[cid]
            if pd.isna(va) or pd.isna(vb):
                continue
            col = _column(cid)
            better = "" if va == vb else (b if (vb > va) == bool(col.higher_is_better) else a)
            out.append({"section": title, "column": cid, "header": col.header,
                        "higher_is_better": bool(col.higher_is_better), "model_a": a, "a": float(va),
                        "model_b": b, "b": float(vb), "b_minus_a": float(vb - va), "better": better})
    if not out:
        raise RobenchError(f"{a} and {b} have no column in common: evaluate them on the same suite(s)")
    result = pd.DataFrame(out)
    result.attrs["note"] = note
    return result


def render_comparison(comparison, fmt="table"):
    """A ``compare`` frame as text: a table per section ("table", "markdown"; two decimals, so that B - A
    agrees with the numbers beside it), or every field unrounded ("csv", "json")."""
    if fmt == "csv":
        return comparison.to_csv(index=False, lineterminator="\n")
    if fmt == "json":
        return json.dumps(comparison.to_dict("records"), indent=2, ensure_ascii=False) + "\n"
    _check_format(fmt)
    from tabulate import tabulate

    a, b = comparison["model_a"].iloc[0], comparison["model_b"].iloc[0]
    parts = []
    for title, rows in _sections(comparison):
        cells = [[f"{r.header} {_arrow(r.higher_is_better)}", f"{r.a:.2f}", f"{r.b:.2f}", f"{r.b_minus_a:+.2f}",
                  "=" if not r.better else ("← A" if r.better == a else "B →")] for r in rows.itertuples()]
        headers = ["Column", f"A: {a}", f"B: {b}", "B - A", "better"]
        tablefmt = "pipe" if fmt == "markdown" else "simple"
        table = tabulate([[str(c).replace("|", "\\|") if fmt == "markdown" else c for c in row] for row in cells],
                         headers=headers, tablefmt=tablefmt, disable_numparse=True,
                         colalign=("left", "right", "right", "right", "left"))
        parts.append(f"{'## ' if fmt == 'markdown' else ''}{title}\n\n{table}")
    return "\n\n".join(parts) + "\n"


def _entries(source):
    """(entries, problems) from a directory, or from Entry objects / JSON-ready record dicts."""
    if isinstance(source, (str, os.PathLike)):
        entries, problems = load_results(source)
        if not entries:
            raise no_records_error(os.fspath(source), problems)
        return entries, problems
    from robench.leaderboard.columns import suite_key
    from robench.leaderboard.load import Entry
    from robench.leaderboard.protocol import protocol_key

    entries = [e if isinstance(e, Entry) else Entry("<record>", e, suite_key(e["suite"]["name"]), protocol_key(e))
               for e in source]
    if not entries:
        raise RobenchError("no result records to report: run `robench eval` first")
    return entries, []


def _ids_by_suite(entries):
    from robench.leaderboard.columns import record_values

    out = {}
    for e in entries:
        out.setdefault(e.suite, {}).update(dict.fromkeys(record_values(e.record)))
    return {suite: list(ids) for suite, ids in out.items()}


def _check_suite_names(wanted, ids_by_suite):
    from robench.datasets import SUITES
    from robench.registry import close_names

    known = list(dict.fromkeys([*SUITES.names(), *ids_by_suite]))
    for name in wanted:
        if name not in known:
            raise RobenchError(f"unknown suite '{name}'.{close_names(name, known)} Known: {', '.join(known)}")


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


def _section_table(title, section, ids, fmt):
    from robench.leaderboard import tables

    body = {"Model": list(section["model"])}
    for cid in ids:
        col = _column(cid)
        if fmt == "markdown":
            body[tables.header(col)] = tables.format_column(section[cid], col.higher_is_better)
        else:
            body[f"{col.header} {_arrow(col.higher_is_better)}"] = tables.format_column(section[cid], None)
    table = pd.DataFrame(body)
    if fmt == "markdown":
        return f"## {title}\n\n{tables.render(table)}"
    from tabulate import tabulate

    return f"{title}\n\n" + tabulate(table.values.tolist(), headers=list(table.columns), tablefmt="simple",
                                     disable_numparse=True, colalign=["left"] + ["right"] * len(ids))


def _sections(frame):
    for title in dict.fromkeys(frame["section"]):
        yield title, frame[frame["section"] == title]


def _definition(cid):
    col = _column(cid)
    return {"id": cid, "header": col.header, "higher_is_better": bool(col.higher_is_better),
            "definition": col.definition}


def _column(cid):
    from robench.leaderboard.columns import column

    return column(cid)


def _footnote(cid):
    from robench.leaderboard.tables import footnote_label

    return footnote_label(cid)


def _arrow(higher_is_better):
    return "↑" if higher_is_better else "↓"


def _json_value(value):
    if isinstance(value, float):
        return None if math.isnan(value) else value
    return value


def _check_format(fmt):
    if fmt not in FORMATS:
        raise RobenchError(f"unknown report format '{fmt}': use one of {', '.join(FORMATS)}")


def _run_eval(directory):
    return (f"run `robench eval --model MODEL --root DATA --out {directory}` first "
            "(records go in <dir>/<model>/<suite>.json)")
