"""Merging the task records of a job array (``robench eval --task i/N``) into one record.

Task i of N covers slice i of every variant, so the full record is the per-variant sum of the
task records' metric states; metrics and suite aggregates are then recomputed from the sums, giving
the record one run over all the data would have written. Task records must form one complete set
made as one measurement on one data set: anything else is an error that says which file.
"""
import glob
import os
import re

from robench.engine import predictions
from robench.engine.records import nonfinite_note, predictions_path, suite_aggregates, variant_result
from robench.errors import RecordError
from robench.stats.record_intervals import attach as attach_intervals
from robench.results import load_record, now, record_path, write_record

TASK_RECORD = re.compile(r"^(?P<suite>.+)\.task-(?P<i>\d+)-of-(?P<n>\d+)\.json$")


def model_dirs(directory):
    """``directory`` itself when it holds task records, else its subfolders that do."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise RecordError(f"{directory} is not a directory (give an --out folder or one model's folder in it)")

    def has_task_records(d):
        return any(TASK_RECORD.match(os.path.basename(p)) for p in glob.glob(os.path.join(glob.escape(d), "*.json")))

    if has_task_records(directory):
        return [directory]
    found = sorted(os.path.join(directory, e) for e in os.listdir(directory)
                   if os.path.isdir(os.path.join(directory, e)) and has_task_records(os.path.join(directory, e)))
    if not found:
        raise RecordError(f"no task records (<suite>.task-i-of-N.json) in {directory} or its subfolders; "
                          "write them with `robench eval ... --task i/N`")
    return found


def merge_directory(directory):
    """Merges every (model, suite) set of task_records under ``directory``; returns [(record path, notes)]."""
    results = []
    for model_dir in model_dirs(directory):
        by_suite = {}
        for path in sorted(glob.glob(os.path.join(glob.escape(model_dir), "*.json"))):
            m = TASK_RECORD.match(os.path.basename(path))
            if m:
                by_suite.setdefault(m["suite"], []).append((int(m["i"]), int(m["n"]), path))
        for suite_name, task_records in sorted(by_suite.items()):
            results.append(merge_task_records(model_dir, suite_name, task_records))
    return results


def merge_task_records(model_dir, suite_name, task_records):
    """Checks one complete set of task_records, sums it and writes ``<suite>.json``; returns (path, notes)."""
    records = _complete_set(suite_name, task_records)
    first = records[0]
    _check_agree(records, [p for _, _, p in sorted(task_records)])
    from robench.datasets import get_suite
    from robench.metrics.base import MetricSet

    metric_set = MetricSet(first.metric_set.get("metrics"))
    if metric_set.id != first.metric_set.get("id"):
        raise RecordError(f"{task_records[0][2]} was made with another version of the metrics "
                          f"({', '.join(metric_set.names)}): rerun the tasks with this robench")
    paths = [p for _, _, p in sorted(task_records)]
    task_identities = [predictions.record_identity(r) for r in records]  # before `first` becomes the merge
    entries = [_merged_entry([r.variants[k] for r in records], metric_set, paths) for k in range(len(first.variants))]
    out_dir, model_name = os.path.dirname(os.path.abspath(model_dir)), first.model["name"]
    suite = get_suite(first.suite["name"])
    # The tasks' own model, suite and env sections stand: they describe where the numbers were made.
    run = {**first.run, "task": None}
    if isinstance(run.get("config"), dict) and "task" in run["config"]:  # the merged record is no task's
        run["config"] = {**run["config"], "task": None}
    first.created, first.run, first.variants = now(), run, entries
    first.aggregates = suite_aggregates(suite, first.model, first.suite, entries)
    notes = _merge_predictions(out_dir, model_name, suite_name, task_identities, predictions.record_identity(first))
    if first.aggregates.get("nonfinite"):
        notes.append(nonfinite_note(first.aggregates["nonfinite"]))
    attach_intervals(first, predictions_path(out_dir, model_name, suite_name))
    return write_record(record_path(out_dir, model_name, suite_name), first), notes


def _complete_set(suite_name, task_records):
    counts = sorted({n for _, n, _ in task_records})
    if len(counts) > 1:
        raise RecordError(f"task records of {suite_name} come from job arrays of different sizes "
                          f"({', '.join(f'of-{n}' for n in counts)}); keep one set and delete the others: "
                          + ", ".join(p for _, _, p in task_records))
    n = counts[0]
    records, claimed = [None] * n, {}
    for i, _, path in sorted(task_records):
        record = load_record(path)
        said = record.run.get("task")
        if said != [i, n]:
            raise RecordError(f"{path} holds task {said} but its name says {i}/{n}: a copied or renamed "
                              "file? Rerun that task or restore its name")
        if i in claimed:
            raise RecordError(f"task {i}/{n} appears twice: {claimed[i]} and {path}")
        claimed[i], records[i] = path, record
    missing = [i for i in range(n) if records[i] is None]
    if missing:
        raise RecordError(f"task(s) {', '.join(f'{i}/{n}' for i in missing)} of {suite_name} are missing; run "
                          f"`robench eval ... --task {missing[0]}/{n}` for each, then merge again")
    return records


def _check_agree(records, paths):
    first = records[0]
    checks = (("measurement_id", lambda r: r.measurement_id, "a different measurement (model, weights, "
               "preprocessing or precision)"),
              ("metric set", lambda r: r.metric_set.get("id"), "another version of robench's metrics or "
               "another --nonfinite"),
              ("data fingerprint", lambda r: r.suite.get("fingerprint"), "different data"),
              ("variants", lambda r: [v.name for v in r.variants], "a different --select"))
    for label, get, meaning in checks:
        for path, record in zip(paths[1:], records[1:]):
            if get(record) != get(first):
                raise RecordError(f"{path} and {paths[0]} differ in {label}: they were made with {meaning}; "
                                  "rerun the odd task(s) with the same command as the others")


def _merged_entry(parts, metric_set, paths):
    """One variant of the merged record: the parts' states summed (they are additive); a state that is
    not one of the metric set names its task file."""
    state = metric_set.new()
    for part, path in zip(parts, paths):
        state.merge(metric_set.restore(part.state, f"{path}: variant {part.name}"))
    skipped = [s for part in parts for s in part.skipped]
    return variant_result(parts[0].name, parts[0].info, sum(p.n_images for p in parts), parts[0].n_official,
                          state, skipped)


def _merge_predictions(out_dir, model_name, suite_name, task_identities, identity):
    """Joins the tasks' predictions files in (variant, sample) order, when every task has one that belongs
    to its task record (a file left by an earlier run of the task, under other data or another --select,
    is never merged); otherwise an older merged file is removed rather than left beside the new record."""
    n = len(task_identities)
    out = predictions_path(out_dir, model_name, suite_name)
    paths = [predictions_path(out_dir, model_name, suite_name, (i, n)) for i in range(n)]
    present = [os.path.isfile(p) for p in paths]
    notes = []
    if not any(present):
        stale = predictions.remove_stale(out, identity)
        return [stale] if stale else []
    lacking = [p for p, ok in zip(paths, present) if not ok]
    foreign = [p for p, ok, want in zip(paths, present, task_identities) if ok and predictions.identity_of(p) != want]
    if lacking or foreign:
        if lacking:
            notes.append(f"predictions not merged: {', '.join(lacking)} missing (rerun those tasks with "
                         "--save-predictions)")
        if foreign:
            notes.append(f"predictions not merged: {', '.join(foreign)} belong(s) to another run of the task "
                         "(other data, variants or model); rerun those tasks with --save-predictions")
        stale = predictions.remove_stale(out, identity)
        return notes + ([stale] if stale else [])
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pa.concat_tables([pq.read_table(p).replace_schema_metadata(None) for p in paths])
    order = {name: k for k, name in enumerate(identity["variants"])}
    rank = pa.array([order[v] for v in table.column("variant").to_pylist()], pa.int64())
    table = table.take(pc.sort_indices(pa.table({"v": rank, "i": table.column("index")}),
                                       sort_keys=[("v", "ascending"), ("i", "ascending")]))
    predictions.write_table(out, table, identity)
    return []
