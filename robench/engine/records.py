"""Assembling a (model, suite) record from its finished cells."""
import os

from robench.engine import cells
from robench.errors import RobenchError
from robench.metrics.classification import ClassificationMetrics
from robench.results import atomic_write_json, new_record, record_path


def variant_entry(variant, cell):
    metrics = ClassificationMetrics(cell["state"])
    start, stop = cell["slice"]
    entry = {"name": variant.name, **variant.info, "n_expected": stop - start,
             "n_reference": variant.n_expected, "n_seen": metrics.count,
             "metrics": metrics.compute(), "state": cell["state"], "skipped": cell["skipped"]}
    if entry["skipped"]:
        entry["note"] = f"{len(entry['skipped'])} image(s) could not be decoded and were skipped"
    return entry


def write_record(plan, variants, root, options, runtime):
    """Builds the record of ``plan`` from its cells and writes it; returns its path."""
    entries = []
    for variant in variants:
        path = plan.cell_path(variant.name, options.shard)
        cell = cells.read_json(path) if os.path.isfile(path) else None
        if cell is None:
            raise RobenchError(f"cell {path} is missing after evaluation")
        entries.append(variant_entry(variant, cell))
    suite = plan.suite
    suite_info = {"name": suite.name, "version": suite.version, "root": os.path.abspath(os.fspath(root)),
                  "fingerprint": _fingerprint(variants), "label_subset": suite.label_subset,
                  "resize": suite.resize, "description": suite.description}
    run_info = {"device": runtime.device.type, "precision": options.precision, "world_size": runtime.world,
                "batch_size": options.batch_size,
                "shard": list(options.shard) if options.shard else None}
    context = {"out_dir": plan.out_dir, "model_name": plan.model.name}
    aggregates = {} if options.shard else suite.aggregates(entries, context)
    record = new_record(plan.model.describe(), suite_info, run_info, plan.protocol_hash, entries, aggregates)
    out = record_path(plan.out_dir, plan.model.name, suite.name, options.shard)
    atomic_write_json(out, record)
    return out


def _fingerprint(variants):
    from robench.results import stable_hash

    return stable_hash([[v.name, v.source.fingerprint()] for v in variants])
