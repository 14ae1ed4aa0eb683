"""Reading the leaderboard's inputs: result records from ``entries/`` and published rows from ``reported.csv``.

A bad record (malformed JSON, unknown schema version, a count that does not add up, a job-array task record,
numbers stored as strings, a duplicate) must not silently change the leaderboard, nor stop everyone
else's rows from being published: it is reported by file name and skipped (``strict`` makes it fatal).
``reported.csv`` is one hand-edited file, so any error in it is fatal and names the line.
"""
import io
import os
from dataclasses import dataclass
from numbers import Real

import pandas as pd

from robench.errors import RecordError
from robench.leaderboard.columns import declared_columns, record_values, suite_key
from robench.leaderboard.protocol import split_key
from robench.results import read_record

REPORTED_TEXT_COLUMNS = ("model", "source", "protocol", "citation", "source_url", "notes")
REPORTED_REQUIRED = ("model", "source")


@dataclass(frozen=True, eq=False)
class Entry:
    path: str
    record: dict  # validated by robench.results.Record, in its JSON form
    suite: str  # canonical suite name (columns.suite_key)
    key: tuple  # protocol key
    merged: tuple = ()  # departures left out of the key at the user's request (protocol.split_key)

    @property
    def model_id(self):
        """Rows are per model *and* weights: two checkpoints with one name are two rows."""
        model = self.record["model"]
        return model["name"], model.get("weights_sha256") or model.get("state_dict_sha256") or ""


@dataclass(frozen=True)
class Problem:
    path: str
    reason: str

    def __str__(self):
        return f"{self.path}: {self.reason}"


def entry_files(entries_dir):
    """``entries/*.json`` and ``entries/<model>/*.json``, sorted; hidden files (.gitkeep, temp files) skipped."""
    if not os.path.isdir(entries_dir):
        raise RecordError(f"entries directory {entries_dir} does not exist: create it (records go in "
                          "<entries>/<model>/<suite>.json), pass --entries DIR, or run from the repository root")
    found = []
    for name in sorted(os.listdir(entries_dir)):
        path = os.path.join(entries_dir, name)
        if name.startswith("."):
            continue
        if os.path.isdir(path):
            found.extend(os.path.join(path, n) for n in sorted(os.listdir(path))
                         if n.endswith(".json") and not n.startswith("."))
        elif name.endswith(".json"):
            found.append(path)
    return found


def load_entries(entries_dir, merged=(), recompute=True):
    """(valid entries, problems): every bad file is a Problem naming it, never an exception. ``merged``:
    protocol aspects that do not separate sections (``robench leaderboard --same-section``)."""
    entries, problems, seen = [], [], {}
    for path in entry_files(entries_dir):
        try:
            record = read_record(path)
        except RecordError as e:
            problems.append(Problem(path, str(e).split(": ", 1)[-1]))
            continue
        reason = record_problem(record, recompute)
        if reason:
            problems.append(Problem(path, reason))
            continue
        entry = Entry(path, record, suite_key(record["suite"]["name"]), *split_key(record, merged))
        slot = (entry.key, entry.model_id, entry.suite)
        if slot in seen:
            shared = f" once {', '.join(merged)} share sections" if merged else ""
            problems.append(Problem(path, f"duplicates {seen[slot]} (same model, weights, suite and protocol{shared})"))
            continue
        seen[slot] = path
        entries.append(entry)
    return entries, problems


def record_problem(record, recompute=True):
    """Why a schema-valid record cannot go on the leaderboard, or None; ``recompute``: check every metric
    against its state through the metric set (torch), not only the counts and aggregates."""
    from robench.datasets import find_suite

    suite = find_suite(suite_key(record["suite"]["name"]))
    task = (record.get("run") or {}).get("task")
    if task:
        return f"task record of job-array task {task}: merge the tasks' records with `robench merge` first"
    single = suite is not None and any(c.source == "variant" and c.variant is None for c in suite.columns)
    if single and len(record["variants"]) != 1:
        return f"a {suite.name} record must hold exactly one variant, found {len(record['variants'])}"
    from robench.record_consistency import disagreement, state_problem

    for variant in record["variants"]:  # before any value is computed: a string count crashes the sums
        problem = state_problem(variant.get("state") or {}, f"variant {variant['name']}: state")
        if problem:
            return problem
    bad = [k for k, v in record_values(record).items() if not _number_or_none(v)]
    if bad:
        return f"values of {', '.join(bad)} are not numbers (records store numbers as numbers)"
    return disagreement(record, suite, full=recompute)


def _number_or_none(value):
    return value is None or (isinstance(value, Real) and not isinstance(value, bool))


def load_reported(path):
    """reported.csv as a DataFrame (text columns as str, metric columns as float, NaN = not reported)."""
    if not os.path.isfile(path):
        raise RecordError(f"reported numbers file {path} does not exist (pass --reported CSV)")
    try:
        with open(path, encoding="utf-8") as f:
            lines = [line for line in f if not line.lstrip().startswith("#")]
    except UnicodeDecodeError:
        raise RecordError(f"{path} is not a text CSV file (it is not UTF-8 text); pass the reported-numbers CSV") from None
    try:
        table = pd.read_csv(io.StringIO("".join(lines)), dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError) as e:
        raise RecordError(f"{path}: not a readable CSV ({e})") from None
    known = set(REPORTED_TEXT_COLUMNS) | {"params_m"} | set(declared_columns())
    unknown = [c for c in table.columns if c not in known]
    if unknown:
        raise RecordError(f"{path}: unknown column(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    missing = [c for c in REPORTED_REQUIRED if c not in table.columns]
    if missing:
        raise RecordError(f"{path}: missing column(s) {', '.join(missing)}")
    for column in REPORTED_TEXT_COLUMNS:
        table[column] = table[column].str.strip() if column in table.columns else ""
    for column in [c for c in table.columns if c not in REPORTED_TEXT_COLUMNS]:
        table[column] = _numbers(table[column], column, path)
    _check_reported_rows(table, path)
    return table


def _numbers(values, column, path):
    text = values.str.strip()
    numbers = pd.to_numeric(text.where(text != ""), errors="coerce")
    bad = text[(text != "") & numbers.isna()]
    if len(bad):
        raise RecordError(f"{path}: column {column}, data row {bad.index[0] + 1}: {bad.iloc[0]!r} is not a number")
    limit = None if column == "params_m" else 100
    out_of_range = numbers[(numbers < 0) | ((numbers > limit) if limit else False)]
    if len(out_of_range):
        raise RecordError(f"{path}: column {column}, data row {out_of_range.index[0] + 1}: "
                          f"{out_of_range.iloc[0]} is outside 0-{limit or 'inf'} (values are percent)")
    return numbers.astype(float)


def _check_reported_rows(table, path):
    for i, row in table.iterrows():
        for column in REPORTED_REQUIRED:
            if not row[column]:
                raise RecordError(f"{path}: data row {i + 1} has an empty '{column}'")
    dup = table.duplicated(subset=["model", "source", "protocol"], keep="first")
    if dup.any():
        i = int(dup.idxmax())
        raise RecordError(f"{path}: data row {i + 1} repeats model {table.loc[i, 'model']!r} for the same "
                          "source and protocol")
