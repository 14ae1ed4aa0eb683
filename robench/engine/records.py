"""Assembling a (model, suite) record from its finished cells (and its predictions file)."""
import os

from robench.engine import cells, predictions
from robench.errors import RobenchError
from robench.metrics.classification import ClassificationMetrics
from robench.results import atomic_write_json, new_record, record_path, stable_hash


def make_entry(name, info, n_expected, n_reference, state, skipped):
    """One variant's entry in a record; merged records build theirs with the same function."""
    metrics = ClassificationMetrics(state)
    entry = {"name": name, **info, "n_expected": n_expected, "n_reference": n_reference,
             "n_seen": metrics.count, "metrics": metrics.compute(), "state": metrics.state_dict(),
             "skipped": skipped}
    if skipped:
        entry["note"] = f"{len(skipped)} image(s) could not be decoded and were skipped"
    return entry


def variant_entry(variant, cell):
    start, stop = cell["slice"]
    return make_entry(variant.name, variant.info, stop - start, variant.n_expected, cell["state"],
                      cell["skipped"])


def predictions_path(out_dir, model_name, suite_name, shard=None):
    """``OUT/<model>/<suite>[.shard-i-of-N].predictions.parquet``, next to the record."""
    return record_path(out_dir, model_name, suite_name, shard)[: -len(".json")] + ".predictions.parquet"


def suite_section(suite, root, variants):
    return {"name": suite.name, "version": suite.version, "root": os.path.abspath(os.fspath(root)),
            "fingerprint": stable_hash([[v.name, v.source.fingerprint()] for v in variants]),
            "label_subset": suite.label_subset, "resize": suite.resize, "description": suite.description}


def write_record(plan, variants, root, options, runtime):
    """Builds the record of ``plan`` from its cells and writes it; returns its path."""
    entries, parts = [], []
    for variant in variants:
        path = plan.cell_path(variant.name, options.shard)
        cell = cells.read_json(path) if os.path.isfile(path) else None
        if cell is None:
            raise RobenchError(f"cell {path} is missing after evaluation")
        entries.append(variant_entry(variant, cell))
        parts.append(cells.predictions_part(path))
    suite = plan.suite
    run_info = {"device": runtime.device.type, "precision": options.precision, "world_size": runtime.world,
                "batch_size": options.batch_size,
                "shard": list(options.shard) if options.shard else None}
    context = {"out_dir": plan.out_dir, "model_name": plan.model.name, "model": plan.model.describe()}
    aggregates = {} if options.shard else suite.aggregates(entries, context)
    record = new_record(plan.model.describe(), suite_section(suite, root, variants), run_info,
                        plan.protocol_hash, entries, aggregates)
    if options.save_predictions:
        predictions.concatenate(parts, predictions_path(plan.out_dir, plan.model.name, suite.name, options.shard))
    out = record_path(plan.out_dir, plan.model.name, suite.name, options.shard)
    atomic_write_json(out, record)
    return out
