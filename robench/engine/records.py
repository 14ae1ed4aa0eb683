"""Assembling a (model, suite) Record from its finished slice results (and its predictions file)."""
import os

from robench.engine import slice_results, predictions
from robench.errors import RobenchError
from robench.stats.record_intervals import attach as attach_intervals
from robench.results import Record, VariantResult, environment, now, record_path, stable_hash, write_record


def variant_result(name, info, n_images, n_official, state, skipped):
    """One variant of a record, its metrics computed from ``state`` (a MetricState); merged records
    build theirs with the same function."""
    result = VariantResult(name, n_images, n_official, state.count, state.compute(), state.state_dict(),
                           skipped, dict(info))
    if skipped:
        result.note = f"{len(skipped)} image(s) could not be decoded and were skipped"
    return result


def predictions_path(out_dir, model_name, suite_name, task=None):
    """``OUT/<model>/<suite>[.task-i-of-N].predictions.parquet``, next to the record."""
    return record_path(out_dir, model_name, suite_name, task)[: -len(".json")] + ".predictions.parquet"


def data_origin(variants):
    origins = {getattr(v, "data_origin", "released") for v in variants}
    return origins.pop() if len(origins) == 1 else "mixed"


def data_format(variants):
    """What the record says about how the data was held (``Source.describe``: the format, the source
    files, the label source), one entry when every variant says the same, else the union of them."""
    described = [getattr(v.source, "describe", lambda: {"format": "folder"})() for v in variants]
    if all(d == described[0] for d in described):
        return dict(described[0])
    merged = {"format": sorted({d.get("format") for d in described})}
    for key in sorted({k for d in described for k in d} - {"format"}):
        values = [d[key] for d in described if key in d]
        flat = [x for value in values for x in (value if isinstance(value, list) else [value])]
        merged[key] = sorted(set(map(str, flat)))
    if len(merged["format"]) == 1:
        merged["format"] = merged["format"][0]
    return merged


def suite_section(suite, root, variants, options=None):
    from robench.engine.loop import EvalOptions

    options = options or EvalOptions()
    section = {"name": suite.name, "version": suite.version, "root": os.path.abspath(os.fspath(root)),
               "fingerprint": stable_hash([[v.name, v.fingerprint(options.verify)] for v in variants]),
               "label_subset": suite.label_subset, "resize": suite.resize, "description": suite.description,
               "data_origin": data_origin(variants), "data_format": data_format(variants)}
    if not suite.resize:
        sizes = {v.stored_size for v in variants if v.stored_size}
        section["stored_size"] = sizes.pop() if len(sizes) == 1 else None
    return section


def as_released_preprocessing(model, stored):
    """How images used as released (no resize or crop) reached the model: as they are when the model's
    input size is the stored size, resized (and said so: not the benchmark protocol) otherwise."""
    size = (model.get("data_config") or {}).get("input_size")
    size = list(size[-2:]) if size else None
    resized = None if size is None or stored is None else size != [stored, stored]
    note = f"images are {stored}x{stored} and used without crop"
    if resized:
        note += f"; this model's input size is {size[0]}x{size[1]}, so they were resized (not the benchmark protocol)"
    elif resized is False:
        note += " or resize, as the benchmark prescribes"
    return {"crop": False, "stored_size": stored, "model_input_size": size, "resized": resized, "note": note}


def nonfinite_total(entries):
    """The images of ``entries`` (VariantResults) scored as wrong for non-finite logits (the
    ``nonfinite`` metric, ``--nonfinite wrong``); None when the run did not count them."""
    counts = [e.metrics.get("nonfinite") for e in entries if "nonfinite" in (e.metrics or {})]
    return sum(int(c or 0) for c in counts) if counts else None


def nonfinite_note(count):
    """What ``count`` images scored as wrong for non-finite logits means, for warnings and merge notes."""
    return f"{count} image(s) had NaN or infinite logits and were counted as wrong predictions (--nonfinite wrong)"


def warn_nonfinite(model_name, entries):
    """One line on stderr per variant with images whose logits were non-finite (``--nonfinite wrong``)."""
    import sys

    for entry in entries:
        count = (entry.metrics or {}).get("nonfinite")
        if count:
            sys.stderr.write(f"robench: warning: model {model_name} on {entry.name}: "
                             f"{nonfinite_note(f'{count} of {entry.n_seen}')}\n")


def suite_aggregates(suite, model, suite_info, entries):
    """The suite's aggregates of one record, plus the account of the no-resize rule where it applies,
    and (``--nonfinite wrong``) the total of images counted as wrong for non-finite logits."""
    aggregates = dict(suite.aggregates([e.to_json() for e in entries]))
    if not suite.resize:
        aggregates["preprocessing"] = as_released_preprocessing(model, suite_info.get("stored_size"))
        aggregates.setdefault("definitions", {})["preprocessing"] = (
            "how the stored images reached the model: no crop; resized only when the model's input size "
            "differs (then not the benchmark)")
    total = nonfinite_total(entries)
    if total is not None:
        aggregates["nonfinite"] = total
        aggregates.setdefault("definitions", {})["nonfinite"] = (
            "images over all variants whose logits held NaN or infinite values, scored as wrong predictions "
            "(robench eval --nonfinite wrong; per variant: metrics.nonfinite)")
    return aggregates


def write_plan_record(plan, variants, root, options, runtime):
    """Builds the record of ``plan`` from its slice results and writes it; returns its path."""
    entries, parts = [], []
    for variant in variants:
        path = plan.slice_result_path(variant.name, options.task)
        stored = slice_results.read_json(path) if os.path.isfile(path) else None
        if stored is None:
            raise RobenchError(f"slice result {path} is missing after evaluation")
        start, stop = stored["slice"]
        state = plan.metric_set.restore(stored["state"], path)
        entries.append(variant_result(variant.name, variant.info, stop - start, variant.n_official, state,
                                      stored["skipped"]))
        parts.append(slice_results.predictions_part(path))
    warn_nonfinite(plan.model.name, entries)
    suite, model = plan.suite, plan.model.describe()
    run_info = {"device": runtime.device.type, "precision": options.precision, "world_size": runtime.world,
                "batch_size": options.batch_size, "task": list(options.task) if options.task else None,
                "decoder": options.decode}
    if options.config:
        run_info["config"] = options.config
    section = suite_section(suite, root, variants, options)
    record = Record(model, section, run_info, plan.measurement_id,
                    {"id": plan.metric_set.id, "metrics": plan.metric_set.names}, entries,
                    {} if options.task else suite_aggregates(suite, model, section, entries),
                    created=now(), env=environment())
    side = predictions_path(plan.out_dir, plan.model.name, suite.name, options.task)
    identity = predictions.record_identity(record)
    if options.save_predictions:
        predictions.concatenate(parts, side, identity)
    else:  # a file from an earlier run must not look like this record's predictions
        note = predictions.remove_stale(side, identity)
        if note:
            import sys

            sys.stderr.write(f"robench: {note}\n")
    attach_intervals(record, side if options.save_predictions else None)
    return write_record(record_path(plan.out_dir, plan.model.name, suite.name, options.task), record)
