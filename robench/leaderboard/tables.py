"""The leaderboard's tables: rows assembled as pandas DataFrames, rendered to markdown with tabulate.

Everything here is a pure function of the entries and the reported rows, and every order is explicit,
so the same inputs give the same bytes (``robench leaderboard --check`` relies on it). Values are shown
with one decimal, like the paper; a missing value is "–", never 0; the best value of a column within a
table is bold when at least two rows have one (ties, compared as shown, are all bold).
"""
import re
from dataclasses import dataclass

import pandas as pd
from tabulate import tabulate

from robench.joins import index_records, joined_values
from robench.leaderboard.columns import column, column_order, core_ids, declared_columns, record_values
from robench.leaderboard.protocol import departure_note, reported_protocol_key, section_order

MISSING = "–"
MEASURED = "measured by robench"
META = ("section", "model", "identity", "kind", "source", "params_m")


def model_labels(entries):
    """Display name per (section, model id): the model name, plus a checkpoint hash if two share a name,
    plus the departures that share this section only at the user's request (e.g. "[decoder: gpu]")."""
    ids = sorted({(e.key, e.model_id) for e in entries})
    labels = {}
    for key, (name, sha) in ids:
        clash = sum(1 for k, (n, _) in ids if k == key and n == name) > 1
        label = f"{name} ({sha[:8] or 'no checkpoint'})" if clash else name
        merged = sorted({part for e in entries if (e.key, e.model_id) == (key, (name, sha)) for part in e.merged})
        labels[(key, (name, sha))] = f"{label} [{departure_note(merged)}]" if merged else label
    return labels


def main_rows(entries, reported, index=None, imported=None):
    """One row per (section, model, source): measured rows from records (kind 0), reported rows from the
    CSV (kind 1) and imported rows from published results files (kind 2, ``importers.load_imported``).
    ``index``: ``robench.joins.index_records`` of every entry (built here when not given)."""
    labels = model_labels(entries)
    index = index if index is not None else index_records(e.record for e in entries)
    declared = declared_columns()
    rows = {}
    for e in entries:
        row = rows.setdefault((e.key, e.model_id), {
            "section": e.key, "model": labels[(e.key, e.model_id)], "identity": e.model_id, "kind": 0,
            "source": MEASURED, "params_m": _params_m(e.record["model"].get("params"))})
        row.update({cid: v for cid, v in record_values(e.record, joined_values(e.record, index)).items()
                    if v is not None})
    out = list(rows.values())
    for kind, table in ((1, reported), (2, imported)):
        if table is not None:
            out += _published_rows(table, kind, declared)
    out.sort(key=lambda r: (section_order(r["section"]), r["model"], r["kind"], r["source"], r["identity"]))
    frame = pd.DataFrame(out, columns=list(META) + sorted({k for r in out for k in r if k not in META},
                                                          key=column_order))
    return frame


def _published_rows(table, kind, declared):
    """Row dicts of a reported.csv-shaped frame (column-wise: 1,500 imported rows stay fast)."""
    metrics = [c for c in table.columns if c in declared]
    protocols = table["protocol"] if "protocol" in table.columns else [""] * len(table)
    params = table["params_m"] if "params_m" in table.columns else [None] * len(table)
    keys = {text: reported_protocol_key(text) for text in set(protocols)}
    values = {c: table[c].to_numpy(dtype=float) for c in metrics}
    out = []
    for i, (model, source, protocol, p) in enumerate(zip(table["model"], table["source"], protocols, params)):
        row = {"section": keys[protocol], "model": model, "identity": (model, ""), "kind": kind,
               "source": f"reported: {source}", "params_m": _nan_to_none(p)}
        row.update({c: float(values[c][i]) for c in metrics if not pd.isna(values[c][i])})
        out.append(row)
    return out


def markdown_selection(frame, top=None):
    """The rows of one section the markdown shows: every measured and reported.csv row, the imported
    rows of a model that has a measured row here (a reproduction), and, per imported source (in name
    order), its ``top`` rows with the highest ImageNet top-1 (ties by model name, missing last), after
    them in that order. ``top`` None: all rows."""
    imported = frame[frame["kind"] == 2]
    if top is None or not len(imported):
        return frame
    hand = frame[frame["kind"] != 2]
    measured = set(frame.loc[frame["kind"] == 0, "model"])
    clean = imported["imagenet_top1"] if "imagenet_top1" in frame.columns else float("nan")
    ranked = imported.assign(_top1=clean)
    ranked = ranked.sort_values(["_top1", "model"], ascending=[False, True], na_position="last", kind="mergesort")
    best = pd.concat([group.head(top) for _, group in ranked.groupby("source", sort=True)]).drop(columns="_top1")
    twins = imported[imported["model"].isin(measured) & ~imported.index.isin(best.index)]
    return pd.concat([hand, twins, best]).reset_index(drop=True)


def sections(frame):
    """Protocol keys present, in display order."""
    return sorted(set(frame["section"]), key=section_order) if len(frame) else []


def metric_ids(frame, standard=True):
    """Columns with a value in some row; the standard section always shows the core columns too."""
    filled = [c for c in frame.columns if c not in META and frame[c].notna().any()]
    if standard or not filled:
        filled = set(filled) | set(core_ids())
    return sorted(filled, key=column_order)


@dataclass(frozen=True, eq=False)
class Grid:
    """A table before its format, shared by the markdown and the HTML page: header texts, a footnote
    label per header (or None), how many text columns come first, and the rows' cell strings (numbers
    formatted here, the best of a column as ``**x**``, missing as "–")."""

    headers: list
    notes: list
    left: int
    rows: list

    @classmethod
    def of(cls, frame, left, notes=None):
        """A Grid of a DataFrame of strings, its column names as headers."""
        return cls(list(frame.columns), list(notes or [None] * len(frame.columns)), left,
                   [[str(v) for v in row] for row in frame.values.tolist()])


def grid_markdown(grid):
    """A Grid as a GitHub markdown table (footnotes as ``[^label]`` after the header)."""
    headers = [f"{h} [^{n}]" if n else h for h, n in zip(grid.headers, grid.notes)]
    return render(pd.DataFrame(grid.rows, columns=headers) if grid.rows else pd.DataFrame(columns=headers),
                  left=grid.left)


def main_grid(frame, standard=True, intervals=None):
    """One section's main table as a Grid: Model, Source, the filled columns, Params (M). With
    ``intervals`` (``row_intervals`` of the frame), a value that has one shows `` ± half-width`` and
    ``≈`` when its rank is not separated from a neighbour's (``tie_marks``)."""
    ids = metric_ids(frame, standard)
    body, notes = {"Model": list(frame["model"]), "Source": list(frame["source"])}, [None, "source"]
    for cid in ids:
        col = column(cid)
        values = frame[cid] if cid in frame.columns else pd.Series([None] * len(frame), dtype=float)
        text = format_column(values, col.higher_is_better)
        if intervals is not None:
            text = with_intervals(text, values, [intervals.get((*key, cid)) for key in row_keys(frame)],
                                  col.higher_is_better)
        body[header_text(col)] = text
        notes.append(footnote_label(col.id))
    body["Params (M)"] = format_column(frame["params_m"], None, decimals=2)
    notes.append("params_m")
    return Grid.of(pd.DataFrame(body), 2, notes)


# --- intervals and ties ---------------------------------------------------------------------------
TIE = "≈"
INTERVAL_NOTE = ("± is half the width of the value's 95% interval: Clopper-Pearson from the counts for one "
                 "data set's top-1/top-5/error (reported and imported rows: from the value and the data set's "
                 "released size), the paired bootstrap over image ids for aggregates of records that kept their "
                 "per-sample store; no ± where neither is known. ≈: in this column's rank order the value's "
                 "interval overlaps the interval of the row ranked just above or below it, so that rank is not "
                 "separated from its neighbour (overlap is conservative; robench report --compare A B gives the "
                 "paired test).")


def row_keys(frame):
    """The key of each row of a ``main_rows`` frame that ``row_intervals`` uses: (section, identity, kind, source)."""
    return list(zip(frame["section"], frame["identity"], frame["kind"], frame["source"]))


def row_intervals(frame, entries):
    """{(section, identity, kind, source, column id): (low, high)} for the rows of a ``main_rows`` frame:
    measured rows from their records' ``intervals`` (``columns.record_intervals``), reported and imported
    rows from their value and the data set's released size (``columns.published_intervals``; none for
    aggregates, whose published numbers give no counts)."""
    from robench.leaderboard.columns import published_intervals, record_intervals

    out = {}
    for e in entries:
        for cid, interval in record_intervals(e.record).items():
            out[(e.key, e.model_id, 0, MEASURED, cid)] = interval
    published = frame[frame["kind"] != 0]
    keys = row_keys(published)
    for cid in [c for c in frame.columns if c not in META]:
        found = published_intervals(cid, [None if pd.isna(v) else v for v in published[cid]])
        for key, interval in zip(keys, found or ()):
            if interval is not None:
                out[(*key, cid)] = interval
    return out


def tie_marks(values, intervals, higher_is_better):
    """[bool] per row: True when, among the rows that have both a value and an interval ranked by value
    (best first; equal values in row order), the row's interval overlaps that of the row ranked just
    above or just below it. ``higher_is_better`` None: no ranking, no marks."""
    values = [None if v is None or pd.isna(v) else float(v) for v in values]
    marks = [False] * len(values)
    if higher_is_better is None:
        return marks
    ranked = sorted((i for i, (v, iv) in enumerate(zip(values, intervals)) if v is not None and iv is not None),
                    key=lambda i: (-values[i] if higher_is_better else values[i], i))
    for a, b in zip(ranked, ranked[1:]):
        if intervals[a][0] <= intervals[b][1] and intervals[b][0] <= intervals[a][1]:
            marks[a] = marks[b] = True
    return marks


def with_intervals(texts, values, intervals, higher_is_better, decimals=1):
    """Formatted cells (``format_column``) with `` ± half-width`` where an interval is known and ``≈`` on
    ranks not separated from a neighbour."""
    ties = tie_marks(list(values), intervals, higher_is_better)
    out = []
    for text, interval, tie in zip(texts, intervals, ties):
        if text != MISSING and interval is not None:
            text = f"{text} ± {(interval[1] - interval[0]) / 2:.{decimals}f}" + (f" {TIE}" if tie else "")
        out.append(text)
    return out


def interval_grids(shown, frame, standard, entries):
    """(the markdown's grid of ``shown``, the page's grid of ``frame``) of one section with ± and ties
    (``row_intervals`` over the section's ``entries``; ties, like bold, are ranked within each grid's rows):
    the page builder's hook, one call where it builds a section's main Table."""
    intervals = row_intervals(frame, entries)
    return main_grid(shown, standard, intervals), main_grid(frame, standard, intervals)


def main_table(frame, standard=True):
    """Markdown table of one section's rows."""
    return grid_markdown(main_grid(frame, standard))


def header_text(col):
    return f"{col.header} {'↑' if col.higher_is_better else '↓'}"


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


_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]|])")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def markdown_text(value):
    """A string from a record or a reported row as the literal text of one markdown table cell: line
    breaks become spaces (a newline would split the row), HTML is shown as text (no ``<script>`` or
    ``<img onerror>``), and backslashes, pipes, brackets, backticks and stars are escaped (no cell
    ended by ``\\|``, no ``[x](javascript:...)`` link, no emphasis)."""
    text = " ".join(str(value).split())
    text = "".join(_HTML.get(ch, ch) for ch in text)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def render(table, left=1):
    """A DataFrame of strings as a GitHub markdown table; the first ``left`` columns left-aligned.
    Those hold text that comes from records and reported rows (model names, sources, variant names)
    and are escaped as literal text; the others hold numbers formatted here (bold marks the best)."""
    align = ["left"] * left + ["right"] * (len(table.columns) - left)
    cells = [[markdown_text(cell) if i < left else str(cell).replace("|", "\\|") for i, cell in enumerate(row)]
             for row in table.values.tolist()]
    return tabulate(cells, headers=list(table.columns), tablefmt="pipe", disable_numparse=True, colalign=align)


def detail_grid(table):
    """A suite's DetailTable as a Grid: its text columns as they are, numbers formatted (best bold)."""
    frame, body = table.frame, {}
    direction = None if table.lower_is_better is None else not table.lower_is_better
    for i, name in enumerate(frame.columns):
        if i < table.text_columns:
            body[name] = [str(v) for v in frame[name]]
        else:
            body[name] = format_column(frame[name], direction)
    return Grid.of(pd.DataFrame(body), table.text_columns)


def detail_markdown(table):
    """Markdown of a suite's DetailTable."""
    return grid_markdown(detail_grid(table))


def metrics_table(rows):
    """Every metric of every record, pooled over its variants (states summed): rows are (model label,
    suite name, record). A metric added in one module shows here with no other change. None when the
    records hold no states this robench can read."""
    if not rows:  # no records: nothing to pool (and no torch to import)
        return None
    from robench.errors import RobenchError
    from robench.metrics.base import MetricSet

    out, headers = [], {}
    for label, suite, record in sorted(rows, key=lambda r: (r[0], r[1])):
        names = (record.get("metric_set") or {}).get("metrics") or ["accuracy", "nll", "calibration"]
        try:
            metric_set = MetricSet(names)
            pooled = metric_set.new()
            for v in record["variants"]:
                pooled.merge(metric_set.restore(v.get("state") or {}))
        except RobenchError:  # a metric that is not installed here, or a state of another version
            continue
        values = pooled.compute()
        for value in metric_set.values:
            headers.setdefault(value.name, value.header or value.name)
        out.append({"Model": label, "Suite": suite, **{headers[k]: v for k, v in values.items()}})
    if not out:
        return None
    return pd.DataFrame(out, columns=["Model", "Suite", *headers.values()])


def _params_m(params):
    return params / 1e6 if isinstance(params, int) and not isinstance(params, bool) else None


def _nan_to_none(value):
    return None if value is None or pd.isna(value) else float(value)
