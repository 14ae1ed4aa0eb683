"""Error consistency of a model with model-vs-human's human observers (Geirhos, Meding & Wichmann,
NeurIPS 2020), on the images both saw.

The human trials are read from the user's copy of bethgelab/model-vs-human (``--human-data``: a checkout,
its ``raw-data`` folder or one experiment's folder), ``raw-data/<experiment>/<experiment>_subject-XX_
session_1.csv`` for cue-conflict (10 observers x 1,280 trials), sketch (7 x 800) and stylized (5 x 800).
robench does not ship them: the repository licenses its code (MIT) and its stimuli, and no statement
covers the trial files (as for the leaderboard's model-vs-human import). It ships their SHA-256 at
commit 79ed7cd and the humans' reference values computed from them (``model_vs_human_trials.json``),
so a copy that differs is named. A trial is kept as (subject, image id, category, response), the image
id being model-vs-human's short image name (``plotting_helper.get_short_imagename``:
``0001_s5n_s01_0_bird_00_bird3-bird2.png`` -> ``bird3-bird2.png``).

The computation follows model-vs-human's ``ErrorConsistency`` (``modelvshuman/plotting/analyses.py``):
a trial is correct when the response is the category (cue-conflict: the shape); for observers a and b
on the same images, c_obs is the share of images both got right or both wrong, c_exp = p_a p_b +
(1 - p_a)(1 - p_b) from their accuracies, kappa = (c_obs - c_exp) / (1 - c_exp), and kappa = 1 when
c_obs = 1 (model-vs-human's convention; ``robench.stats.error_consistency`` leaves that case undefined).
A model's number is the mean of its kappa with each observer; the humans' reference is the mean over
observers of each one's mean kappa with the others.

Matching images: a store's key (``<shape>/<file>.png`` on robench's cue-conflict suite, the
texture-vs-shape release that model-vs-human also uses) is matched to a trial by its file name
(``image_id_of_key``), and only images both saw count. The decision is the model's 16-way one, which
only the cue-conflict metric stores (``cue_decision``). robench's ``imagenet-sketch`` (the 50,889
images of ImageNet-Sketch) and ``stylized-imagenet`` (a Stylized-ImageNet made by the user) do not
hold model-vs-human's sketch and stylized stimuli (its own 800 images each, 16 classes, named
``airplane-0001-sketch-0.png``, ``bicycle-0011-ILSVRC2012-val-00011821.png``): their names never
match, so for those suites nothing is computed (``HumanDataError`` says so); their trials serve
stores that hold those very images.
"""
import csv
import glob
import hashlib
import json
import os
from dataclasses import dataclass
from typing import Optional

import numpy as np

from robench.errors import RobenchError

EXPERIMENTS = ("cue-conflict", "sketch", "stylized")
SUITE_EXPERIMENT = {"cue-conflict": "cue-conflict"}  # robench suites whose images are model-vs-human's stimuli
_DIFFERENT = {"imagenet-sketch": "sketch", "stylized-imagenet": "stylized"}
MANIFEST = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data",
                        "model_vs_human_trials.json")
GET = ("model-vs-human's trials are not shipped with robench (no licence covers them): clone "
       "https://github.com/bethgelab/model-vs-human and pass its folder (--human-data PATH)")


class HumanDataError(RobenchError):
    """No human trials for these images (another experiment, another suite, no 16-way decisions, or no copy
    of model-vs-human's data)."""


@dataclass(frozen=True)
class Kappa:
    kappa: float
    c_obs: float
    c_exp: float
    accuracy_a: float
    accuracy_b: float
    n: int


def manifest():
    """What robench knows of model-vs-human's trial files: their SHA-256 at the commit it was checked
    against, and the humans' reference kappa per experiment computed from them."""
    with open(MANIFEST) as f:
        return json.load(f)


def trial_files(source, experiment, who="subject"):
    """The trial files of ``experiment`` under ``source`` (a checkout, its raw-data folder or the
    experiment's folder), sorted; ``who``: "subject" (human observers) or a model's name."""
    if experiment not in EXPERIMENTS:
        raise HumanDataError(f"no human trials for '{experiment}': robench reads {', '.join(EXPERIMENTS)} "
                             "(bethgelab/model-vs-human's raw-data)")
    if source is None:
        raise HumanDataError(GET)
    source = os.fspath(source)
    pattern = f"{experiment}_subject-*_session_*.csv" if who == "subject" else f"{experiment}_{who}_session-*.csv"
    for folder in (os.path.join(source, "raw-data", experiment), os.path.join(source, experiment), source):
        found = sorted(glob.glob(os.path.join(glob.escape(folder), pattern)))
        if found:
            return found
    raise HumanDataError(f"no {pattern} under {source} (expected a model-vs-human checkout: "
                         f"raw-data/{experiment}/{pattern}); {GET}")


def short_imagename(imagename):
    """model-vs-human's image id of a trial's image name: the last "_" part, or the last two when the one
    before is an ImageNet wnid (n0...)."""
    parts = imagename.split("_")
    if len(parts) == 1:
        return parts[0]
    return "_".join(parts[-2:]) if parts[-2].startswith("n0") else parts[-1]


def read_trials(paths):
    """DataFrame of subject, image_id, category, response of model-vs-human trial files."""
    import pandas as pd

    rows = []
    for path in paths:
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                row = {k.lower(): v for k, v in row.items()}
                rows.append((row["subj"], short_imagename(row["imagename"]), row["category"], row["object_response"]))
    return pd.DataFrame(rows, columns=["subject", "image_id", "category", "response"])


def human_trials(experiment, source):
    """The human observers' trials of ``experiment`` from ``source`` (``trial_files``); ``attrs["known"]``
    says whether every file is byte for byte the one robench checked (``manifest``)."""
    paths = trial_files(source, experiment)
    hashes = manifest()["sha256"].get(experiment, {})
    trials = read_trials(paths)
    trials.attrs["known"] = {os.path.basename(p) for p in paths} == set(hashes) and all(
        _sha256(p) == hashes[os.path.basename(p)] for p in paths)
    return trials


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def kappa(correct_a, correct_b):
    """Kappa of two observers' correctness on the same images (same order), model-vs-human's way."""
    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape or not a.size:
        raise RobenchError(f"error consistency needs the same, non-empty set of images ({a.size} and {b.size})")
    p_a, p_b = float(a.mean()), float(b.mean())
    c_obs = float(np.mean(a == b))
    c_exp = p_a * p_b + (1 - p_a) * (1 - p_b)
    value = 1.0 if c_obs == 1.0 else (c_obs - c_exp) / (1 - c_exp)
    return Kappa(value, c_obs, c_exp, p_a, p_b, int(a.size))


def correctness(trials):
    """{image id: correct} of one observer's trials (DataFrame rows with image_id, category, response)."""
    return dict(zip(trials["image_id"], trials["response"] == trials["category"]))


def pair(a, b):
    """Kappa of two {image id: correct} maps on the images both saw (None when they share none)."""
    shared = sorted(set(a) & set(b))
    if not shared:
        return None
    return kappa([a[i] for i in shared], [b[i] for i in shared])


def with_humans(model, experiment, source):
    """Per observer of ``experiment``: its Kappa with ``model`` ({image id: correct}) on the images both
    saw, as a DataFrame (subject, n, kappa, c_obs, c_exp, accuracy_model, accuracy_human); ``attrs``:
    ``mean`` (over observers, model-vs-human's number), ``humans`` (``human_reference``) and ``known``
    (the trial files are the ones robench checked)."""
    import pandas as pd

    trials = human_trials(experiment, source)
    rows = []
    for subject, own in trials.groupby("subject", sort=True):
        found = pair(model, correctness(own))
        if found is not None:
            rows.append({"subject": subject, "n": found.n, "kappa": found.kappa, "c_obs": found.c_obs,
                         "c_exp": found.c_exp, "accuracy_model": found.accuracy_a, "accuracy_human": found.accuracy_b})
    if not rows:
        raise HumanDataError(f"none of the model's {len(model)} images is among the {trials['image_id'].nunique()} "
                             f"images model-vs-human's observers saw in '{experiment}' (matched by file name)")
    frame = pd.DataFrame(rows)
    frame.attrs.update({"mean": float(frame["kappa"].mean()), "humans": human_reference(trials),
                        "experiment": experiment, "known": trials.attrs["known"]})
    return frame


def human_reference(trials):
    """The mean over observers of each one's mean kappa with every other observer (the humans' bar in
    model-vs-human's error-consistency plots), of ``human_trials``."""
    observers = {s: correctness(t) for s, t in trials.groupby("subject", sort=True)}
    means = []
    for s, mine in observers.items():
        values = [pair(mine, theirs) for t, theirs in observers.items() if t != s]
        means.append(np.mean([v.kappa for v in values if v is not None]))
    return float(np.mean(means))


def image_id_of_key(key):
    """The model-vs-human image id of a store key: its file name (``airplane/airplane1-bicycle2.png`` ->
    ``airplane1-bicycle2.png``)."""
    return str(key).replace("\\", "/").rsplit("/", 1)[-1]


def store_correctness(suite, columns, variant=None):
    """{image id: correct} of a model's per-sample store on a suite whose images are model-vs-human's
    stimuli (``SUITE_EXPERIMENT``): the 16-way decision (``cue_decision``) against the shape category
    (the key's folder). HumanDataError for other suites, naming why."""
    from robench.metrics.cue_conflict import CATEGORIES, shape_of

    if suite not in SUITE_EXPERIMENT:
        why = (f"robench's {suite} does not hold model-vs-human's {_DIFFERENT[suite]} stimuli (its own 800 "
               "images of 16 classes), so no image matches" if suite in _DIFFERENT else
               f"model-vs-human has no human trials on {suite}'s images")
        raise HumanDataError(f"no error consistency with human observers for {suite}: {why}; it is computed for "
                             f"{', '.join(SUITE_EXPERIMENT)}")
    if "cue_decision" not in columns:
        raise HumanDataError(f"the {suite} store has no 16-way decisions (cue_decision): rerun robench eval with "
                             "--save-predictions")
    keys, decisions = columns["key"], np.asarray(columns["cue_decision"]).astype(np.int64)
    picked = range(len(keys)) if variant is None else [i for i, v in enumerate(columns["variant"]) if v == variant]
    out = {}
    for i in picked:
        out[image_id_of_key(keys[i])] = CATEGORIES[decisions[i]] == shape_of(keys[i])
    return out


def record_with_humans(record_path, source, record=None) -> Optional[object]:
    """``with_humans`` of the model of one record, from its per-sample store, against the trials under
    ``source``; HumanDataError when the record's suite has no human trials on its images or it has no
    store of its own."""
    from robench.results import read_record
    from robench.stats.records import read_store

    record = record if record is not None else read_record(record_path)
    suite = record["suite"]["name"]
    columns = None if suite not in SUITE_EXPERIMENT else read_store(record_path, record)
    if suite in SUITE_EXPERIMENT and columns is None:
        raise HumanDataError(f"{record_path} has no per-sample store of its own: rerun robench eval with "
                             "--save-predictions")
    return with_humans(store_correctness(suite, columns or {}), SUITE_EXPERIMENT.get(suite, suite), source)
