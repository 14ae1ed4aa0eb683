"""``robench rescore``: records rebuilt from their per-sample store, without the model.

A record's ``<suite>.predictions.parquet`` (``--save-predictions``) holds what each image contributes
to every built-in metric (``robench.metrics.samples``). Rescoring sums those contributions per variant
into the metric state, computes the metrics and the suite's aggregates with the same functions a run
uses, and so gives the record the run wrote, number for number (task records of a job array too,
from their own stores, before they are merged); with ``metrics`` it also computes
metrics added after the run (any registered metric whose ``sample_state`` reads the store). Only a
store that belongs to its record (the same measurement, data and variants) is read.
"""
import os

from robench.engine import predictions
from robench.engine.records import predictions_path, suite_aggregates, variant_result
from robench.errors import RecordError
from robench.stats.record_intervals import attach as attach_intervals
from robench.results import load_record, write_record


def rescore_record(record_file, metrics=()):
    """(Record rebuilt from its store, the metric names added); RecordError when there is no usable store."""
    from robench.datasets import get_suite
    from robench.metrics.base import MetricSet
    from robench.metrics.samples import missing_columns, state_from_samples

    record = load_record(record_file)
    task = tuple(record.run["task"]) if record.run.get("task") else None  # a task record: its own store, no aggregates
    store = predictions_path(os.path.dirname(os.path.dirname(os.path.abspath(record_file))), record.model["name"],
                             record.suite["name"], task)
    if not os.path.isfile(store):
        raise RecordError(f"{record_file} has no per-sample store {store}: rerun robench eval with --save-predictions")
    if predictions.identity_of(store) != predictions.record_identity(record):
        raise RecordError(f"{store} belongs to another measurement than {record_file} (other data, variants or "
                          "model): rerun robench eval with --save-predictions")
    names = list(record.metric_set.get("metrics") or [])
    added = [m for m in dict.fromkeys(metrics) if m not in names]
    metric_set = MetricSet(names + added)
    columns = predictions.read_columns(store)
    lacking = missing_columns(metric_set, columns)
    if lacking:
        raise RecordError(f"{store} cannot recompute metric(s) {', '.join(lacking)}: it lacks their per-sample "
                          "columns (a file from an older robench?); rerun robench eval with --save-predictions")
    variant_of = columns["variant"]
    entries = []
    for variant in record.variants:
        picked = [i for i, v in enumerate(variant_of) if v == variant.name]
        rows = {k: ([v[i] for i in picked] if isinstance(v, list) else v[picked]) for k, v in columns.items()}
        if len(picked) != variant.n_seen:
            raise RecordError(f"{store} holds {len(picked)} rows of {variant.name}, its record {variant.n_seen}")
        state = state_from_samples(metric_set, rows, f"{store}: {variant.name}")
        entries.append(variant_result(variant.name, variant.info, variant.n_images, variant.n_official, state,
                                      variant.skipped))
    record.variants = entries
    record.metric_set = {"id": metric_set.id, "metrics": metric_set.names}
    record.aggregates = {} if task else suite_aggregates(get_suite(record.suite["name"]), record.model, record.suite,
                                                        entries)
    attach_intervals(record, columns=columns)
    return record, added


def rescore_directory(directory, metrics=(), write=True):
    """[(record path, added metric names)] for every record under ``directory`` with its own store; a record
    without one is skipped (its reason in the second list). ``write``: replace the records."""
    from robench.report import load_results

    done, skipped = [], []
    entries, _ = load_results(directory)
    for path in [e.path for e in entries] + task_record_paths(directory):
        try:
            record, added = rescore_record(path, metrics)
        except RecordError as e:
            skipped.append(str(e))
            continue
        if write:
            write_record(path, record)
        done.append((path, added))
    return done, skipped


def task_record_paths(directory):
    """The job-array task records (``<model>/<suite>.task-i-of-N.json``) under ``directory``, sorted: they
    are rescored from their own stores like records, so a rescore before ``robench merge`` merges into
    the record a rescore after it gives."""
    import glob

    from robench.engine.merge import TASK_RECORD

    found = glob.glob(os.path.join(glob.escape(os.fspath(directory)), "*", "*.json"))
    found += glob.glob(os.path.join(glob.escape(os.fspath(directory)), "*.json"))
    return sorted(p for p in found if TASK_RECORD.match(os.path.basename(p)))
