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


def report_frame(directory_or_entries, suites=None, intervals=None):
    """One row per (protocol section, model): columns ``section`` (its title), ``model`` (the label the
    leaderboard shows), then one float column per declared column id of the suites present (NaN: not
    measured). ``suites`` restricts and orders the columns (see ``report_columns``); rows left without
    a value are dropped. For a directory, the skipped files are in ``frame.attrs["problems"]``.

    ``intervals`` (True, or a dict of ``level``, ``draws``, ``seed``) adds 95% (or ``level``) intervals in
    ``frame.attrs["intervals"]`` ({(section, model, column id): (low, high, method)}): a paired
    bootstrap over image ids where the record has its per-sample store, else Clopper-Pearson from the
    counts for one-variant proportions (``robench.stats.records``); ``attrs["draws"]`` keeps the bootstrap
    draws and ``attrs["stores"]`` the stores, for ``compare``'s paired differences."""
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
    if intervals:
        _add_intervals(frame, entries, {} if intervals is True else dict(intervals))
    return frame


def _add_intervals(frame, entries, options):
    """Fills ``frame.attrs`` "intervals", "draws", "stores" and "interval_level" (see ``report_frame``)."""
    from robench import stats
    from robench.joins import companion_of, index_records, joined_values
    from robench.leaderboard.columns import record_values
    from robench.leaderboard.protocol import describe
    from robench.leaderboard.tables import model_labels
    from robench.stats import records as R

    level = options.get("level", stats.DEFAULT_LEVEL)
    draws, seed = options.get("draws", stats.DEFAULT_DRAWS), options.get("seed", stats.DEFAULT_SEED)
    labels, index = model_labels(entries), index_records(e.record for e in entries)
    stores = {id(e.record): R.read_store(e.path, e.record) if e.path.endswith(".json") else None for e in entries}
    intervals, all_draws, by_row = {}, {}, {}
    for e in entries:
        row = (describe(e.key), labels[(e.key, e.model_id)])
        by_row.setdefault(row, []).append((e.record, stores[id(e.record)]))
        values = record_values(e.record, joined_values(e.record, index))
        found = {cid: (*iv, f"Clopper-Pearson {level:g}") for cid, iv in R.count_intervals(e.record, values, level).items()}
        if stores[id(e.record)] is not None:
            companion = companion_of(e.record, index)
            column_draws = R.column_draws(e.record, stores[id(e.record)], companion,
                                          stores.get(id(companion)) if companion is not None else None, draws, seed)
            for cid, interval in R.bootstrap_intervals(column_draws, level).items():
                if cid not in found or len(e.record["variants"]) > 1 or cid not in values:
                    found[cid] = (*interval, f"paired bootstrap {level:g}, {draws} draws, seed {seed}")
                all_draws[(*row, cid)] = column_draws[cid]
        for cid, interval in found.items():
            if cid in frame.columns:
                intervals[(*row, cid)] = interval
    frame.attrs.update({"intervals": intervals, "draws": all_draws, "stores": by_row, "interval_level": level})


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
    intervals = frame.attrs.get("intervals")
    if fmt in ("csv", "json") and intervals is not None:
        frame = _with_bounds(frame, ids, intervals)
    columns = [c for c in frame.columns if c not in META]
    if fmt == "csv":
        return frame[[*META, *columns]].to_csv(index=False, lineterminator="\n")
    if fmt == "json":
        doc = {"columns": [_definition(cid) for cid in ids],
               "rows": [{k: _json_value(v) for k, v in row.items()} for row in frame[[*META, *columns]].to_dict("records")]}
        if intervals is not None:
            doc["intervals"] = sorted({v[2] for v in intervals.values()})
        return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    _check_format(fmt)
    parts = [_section_table(title, section, ids, fmt, intervals) for title, section in _sections(frame)]
    if not parts:
        parts = ["No results."]
    legend = []
    if intervals is not None:
        methods = sorted({v[2] for v in intervals.values()})
        legend = [f"± is the half-width of the {100 * frame.attrs.get('interval_level', 0.95):g}% interval ("
                  + ("; ".join(methods) if methods else "none could be computed") + ")."]
    if fmt == "markdown":
        notes = [f"[^{_footnote(cid)}]: **{_column(cid).header}**: {_column(cid).definition}" for cid in ids]
        return "\n\n".join(parts + [LEGEND_MARKDOWN] + legend + (["\n".join(notes)] if notes else [])) + "\n"
    return "\n\n".join(parts + [LEGEND] + legend) + "\n"


def _json_records(frame):
    return [{k: _json_value(v) for k, v in row.items()} for row in frame.to_dict("records")]


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


def _with_bounds(frame, ids, intervals):
    """The frame with ``<id>_low`` and ``<id>_high`` after each column (NaN: no interval)."""
    out = frame[list(META)].copy()
    for cid in ids:
        out[cid] = frame[cid]
        for k, suffix in ((0, "low"), (1, "high")):
            out[f"{cid}_{suffix}"] = [intervals.get((s, m, cid), (math.nan, math.nan))[k]
                                      for s, m in zip(frame["section"], frame["model"])]
    out.attrs = dict(frame.attrs)
    return out


def _plus_minus(texts, section, cid, intervals):
    """Cells with `` ± half-width`` where an interval exists (one more decimal than the value)."""
    if intervals is None:
        return texts
    out = []
    for text, (s, m) in zip(texts, zip(section["section"], section["model"])):
        interval = intervals.get((s, m, cid))
        out.append(text if interval is None else f"{text} ± {(interval[1] - interval[0]) / 2:.2f}")
    return out


def _section_table(title, section, ids, fmt, intervals=None):
    from robench.leaderboard import tables

    body = {"Model": list(section["model"])}
    for cid in ids:
        col = _column(cid)
        if fmt == "markdown":
            body[tables.header(col)] = _plus_minus(tables.format_column(section[cid], col.higher_is_better),
                                                   section, cid, intervals)
        else:
            body[f"{col.header} {_arrow(col.higher_is_better)}"] = _plus_minus(
                tables.format_column(section[cid], None), section, cid, intervals)
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
