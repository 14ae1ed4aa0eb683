"""``robench report --human-consistency``: each model's error consistency with model-vs-human's human
observers, from its per-sample store, beside the humans' own (``robench.stats.human_consistency``).

One row per (model, record) whose suite holds model-vs-human's stimuli (cue-conflict): the observers
and images matched, the mean kappa over observers (model-vs-human's number), its range over
observers, the model's and the observers' mean 16-class accuracy, and the humans' reference (mean
kappa of each observer with the others). The trials come from the user's copy of model-vs-human
(``--human-data``): robench does not ship them. Records of other suites are left out; a cue-conflict record
without its store is named in ``attrs["skipped"]``.
"""
import json

import pandas as pd

COLUMNS = ("model", "suite", "experiment", "observers", "images", "kappa_mean", "kappa_min", "kappa_max",
           "accuracy_model", "accuracy_humans", "humans_reference")


def human_consistency_frame(entries, source):
    """The table for ``entries`` (``report.load_results``) against the trials under ``source`` (a copy of
    model-vs-human: ``human_consistency.trial_files``); ``attrs["known"]``: every trial file read is the
    one robench checked (its SHA-256 in ``model_vs_human_trials.json``)."""
    from robench.stats.human_consistency import SUITE_EXPERIMENT, HumanDataError, record_with_humans

    rows, skipped, known = [], [], True
    for e in sorted(entries, key=lambda e: (e.record["model"]["name"], e.suite)):
        if e.suite not in SUITE_EXPERIMENT:
            continue
        try:
            per = record_with_humans(e.path, source, e.record)
        except HumanDataError as err:
            skipped.append(str(err))
            continue
        known = known and per.attrs["known"]
        rows.append({"model": e.record["model"]["name"], "suite": e.suite, "experiment": per.attrs["experiment"],
                     "observers": len(per), "images": int(per["n"].max()), "kappa_mean": per.attrs["mean"],
                     "kappa_min": float(per["kappa"].min()), "kappa_max": float(per["kappa"].max()),
                     "accuracy_model": float(per["accuracy_model"].mean()),
                     "accuracy_humans": float(per["accuracy_human"].mean()), "humans_reference": per.attrs["humans"]})
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame.attrs.update({"skipped": skipped, "known": known})
    return frame


LEGEND = ("Error consistency (Cohen's kappa, Geirhos et al. NeurIPS 2020) of each model with each of model-vs-human's "
          "human observers on the images both saw, as model-vs-human computes it; kappa: mean over observers "
          "(range); humans: the observers' mean kappa with one another. Only cue-conflict: robench's sketch and "
          "stylized suites hold other images than model-vs-human's.")


def render_human_consistency(frame, fmt="table"):
    """The table as text (table, markdown, csv or json)."""
    if fmt == "csv":
        return frame.to_csv(index=False, lineterminator="\n")
    if fmt == "json":
        return json.dumps({"rows": frame.to_dict("records"), "legend": LEGEND}, indent=2) + "\n"
    from tabulate import tabulate

    if not len(frame):
        return "No record with human trials on its images (evaluate cue-conflict with --save-predictions).\n"
    body = [[r.model, r.experiment, f"{r.observers}", f"{r.images}",
             f"{r.kappa_mean:.3f} ({r.kappa_min:.3f} to {r.kappa_max:.3f})", f"{100 * r.accuracy_model:.1f}",
             f"{100 * r.accuracy_humans:.1f}", f"{r.humans_reference:.3f}"] for r in frame.itertuples()]
    headers = ["Model", "Experiment", "Observers", "Images", "kappa with humans", "16-class top-1 (model)",
               "(humans)", "kappa humans-humans"]
    table = tabulate(body, headers=headers, tablefmt="pipe" if fmt == "markdown" else "simple",
                     disable_numparse=True)
    return f"{table}\n\n{LEGEND}\n"
