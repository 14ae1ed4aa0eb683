"""Error consistency with model-vs-human's human observers: trial files read in model-vs-human's own
layout, kappa and the humans' reference by hand on written trials, matching a robench store's keys to
them, `robench report --human-consistency --human-data`, and (with a model-vs-human checkout in
ROBENCH_MODEL_VS_HUMAN) equality with what model-vs-human's analysis code computes on its own data."""
import csv
import io
import itertools
import os

import numpy as np
import pandas as pd
import pytest

from engine_support import in_process
from robench.metrics.cue_conflict import CATEGORIES
from robench.stats import human_consistency as H

# model-vs-human's ErrorConsistency (modelvshuman/plotting/analyses.py at 79ed7cd) run through a shim of its
# package on its raw-data (subjects identical at 79ed7cd and 93ee676, the models' trials at 93ee676):
# get_result's mean over the observers; the humans' value is get_result_df's mean over observers of the
# mean with the others.
MVH = {"resnet50": 0.06799689102686254, "bagnet33": 0.028407735892475507}
MVH_RESNET50_SUBJECT_01 = 0.07662571624
MVH_HUMANS = {"cue-conflict": 0.3310516765636245, "sketch": 0.36961980763773356, "stylized": 0.5005823651030731}
CHECKOUT = os.environ.get("ROBENCH_MODEL_VS_HUMAN")  # a checkout of commit 93ee676 (it has the models' trials)


def write_trials(folder, experiment, who, trials, trial_name="{i:04d}_s5n_s01_0_{category}_00_{image}"):
    """A model-vs-human trial file: its columns, its image names (trial prefix + image id)."""
    os.makedirs(folder, exist_ok=True)
    name = f"{experiment}_{who}_session_1.csv" if who.startswith("subject") else f"{experiment}_{who}_session-1.csv"
    with open(os.path.join(folder, name), "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["subj", "session", "trial", "rt", "object_response", "category", "condition", "imagename"])
        for i, (image, category, response) in enumerate(trials, 1):
            out.writerow([who, 1, i, 0.5, response, category, 0,
                          trial_name.format(i=i, category=category, image=image)])


def stimuli(n):
    """n cue-conflict image names in the release's form, with their shape categories."""
    pairs = itertools.islice(((s, t) for s in CATEGORIES for t in CATEGORIES), n)
    return [(f"{s}1-{t}2.png", s) for s, t in pairs]


def answers(images, correct):
    """Trials answering each image right (its category) or wrong (another one)."""
    return [(image, cat, cat if ok else next(c for c in CATEGORIES if c != cat)) for (image, cat), ok
            in zip(images, correct)]


@pytest.fixture()
def observers(tmp_path):
    rng = np.random.default_rng(4)
    images = stimuli(60)
    correct = {f"subject-0{k}": rng.random(60) < 0.8 for k in (1, 2, 3)}
    folder = tmp_path / "mvh" / "raw-data" / "cue-conflict"
    for who, hits in correct.items():
        write_trials(str(folder), "cue-conflict", who, answers(images, hits))
    return tmp_path / "mvh", images, correct


def by_hand(a, b):
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    c_exp = a.mean() * b.mean() + (1 - a.mean()) * (1 - b.mean())
    return 1.0 if (a == b).all() else ((a == b).mean() - c_exp) / (1 - c_exp)


def test_trials_are_read_in_model_vs_humans_layout(observers):
    source, images, correct = observers
    trials = H.human_trials("cue-conflict", source)
    assert len(trials) == 180 and set(trials["image_id"]) == {i for i, _ in images}  # trial prefixes removed
    assert not trials.attrs["known"]  # not the files robench checked
    assert H.trial_files(source / "raw-data", "cue-conflict") == H.trial_files(source, "cue-conflict")
    with pytest.raises(H.HumanDataError, match="not shipped"):
        H.trial_files(None, "cue-conflict")
    with pytest.raises(H.HumanDataError, match="no cue-conflict_subject"):
        H.trial_files(source / "raw-data" / "nothing-here", "cue-conflict")


def test_kappa_with_each_observer_and_the_humans_reference_by_hand(observers):
    source, images, correct = observers
    rng = np.random.default_rng(9)
    model = rng.random(60) < 0.5
    got = H.with_humans(dict(zip([i for i, _ in images], model)), "cue-conflict", source)
    for who, hits in correct.items():
        assert got.loc[got["subject"] == who, "kappa"].item() == pytest.approx(by_hand(model, hits), abs=1e-12)
    assert got.attrs["mean"] == pytest.approx(np.mean([by_hand(model, h) for h in correct.values()]), abs=1e-12)
    pairs = {s: np.mean([by_hand(correct[s], correct[t]) for t in correct if t != s]) for s in correct}
    assert got.attrs["humans"] == pytest.approx(np.mean(list(pairs.values())), abs=1e-12)
    assert H.kappa([True, True], [True, True]).kappa == 1.0  # model-vs-human's convention when c_obs is 1


def test_a_store_is_matched_by_file_name_on_the_images_both_saw(observers):
    source, images, correct = observers
    kept = images[::2]  # a store with half of the images: only those count
    decision = [CATEGORIES.index(cat if k % 3 else CATEGORIES[0]) for k, (_, cat) in enumerate(kept)]
    columns = {"key": [f"cue-conflict/{cat}/{image}" for image, cat in kept], "variant": ["cue-conflict/all"] * 30,
               "cue_decision": np.array(decision, dtype=np.int8)}
    hits = H.store_correctness("cue-conflict", columns)
    assert hits == {image: CATEGORIES[d] == cat for (image, cat), d in zip(kept, decision)}
    got = H.with_humans(hits, "cue-conflict", source)
    assert (got["n"] == 30).all()
    want = by_hand(list(hits.values()), correct["subject-01"][::2])
    assert got.loc[got["subject"] == "subject-01", "kappa"].item() == pytest.approx(want, abs=1e-12)


def test_suites_with_other_images_say_so(observers):
    source, _, _ = observers
    with pytest.raises(H.HumanDataError, match="does not hold model-vs-human's sketch stimuli"):
        H.store_correctness("imagenet-sketch", {})
    with pytest.raises(H.HumanDataError, match="none of the model's 1 images"):
        H.with_humans({"n01440764/x.JPEG": True}, "cue-conflict", source)


def test_the_shipped_reference_values_are_model_vs_humans():
    shipped = H.manifest()
    assert shipped["humans"] == pytest.approx(MVH_HUMANS, abs=1e-12)
    assert {e: len(files) for e, files in shipped["sha256"].items()} == {"cue-conflict": 10, "sketch": 7,
                                                                        "stylized": 5}


@pytest.mark.skipif(not CHECKOUT, reason="set ROBENCH_MODEL_VS_HUMAN to a model-vs-human checkout (commit 93ee676)")
@pytest.mark.parametrize("model", sorted(MVH))
def test_kappa_equals_model_vs_humans_analysis_on_its_data(model):
    trials = H.read_trials(H.trial_files(CHECKOUT, "cue-conflict", who=model))
    got = H.with_humans(H.correctness(trials), "cue-conflict", CHECKOUT)
    assert got.attrs["known"] and len(got) == 10 and (got["n"] == 1280).all()
    assert got.attrs["mean"] == pytest.approx(MVH[model], abs=1e-12)
    assert got.attrs["humans"] == pytest.approx(MVH_HUMANS["cue-conflict"], abs=1e-12)
    if model == "resnet50":
        assert got.loc[got["subject"] == "subject-01", "kappa"].item() == pytest.approx(MVH_RESNET50_SUBJECT_01,
                                                                                         abs=1e-11)
    for experiment in ("sketch", "stylized"):
        assert H.human_reference(H.human_trials(experiment, CHECKOUT)) == pytest.approx(MVH_HUMANS[experiment],
                                                                                       abs=1e-12)


def test_report_human_consistency(tmp_path):
    from robench.datasets import get_suite

    get_suite("cue-conflict").write_generated(str(tmp_path / "cue"), size=32)
    out = tmp_path / "out"
    in_process(["eval", "-m", "test_resnet@random", "-s", "cue-conflict", "-r", str(tmp_path / "cue"), "-o", str(out),
                "-j", "0", "--no-progress", "--input-size", "32", "--save-predictions"])
    store = pd.read_parquet(out / "test_resnet" / "cue-conflict.predictions.parquet")
    images = [(H.image_id_of_key(k), k.replace("\\", "/").split("/")[-2]) for k in store["key"]]
    rng = np.random.default_rng(2)
    for k in (1, 2):
        write_trials(str(tmp_path / "mvh" / "raw-data" / "cue-conflict"), "cue-conflict", f"subject-0{k}",
                     answers(images, rng.random(len(images)) < 0.7))
    text = in_process(["report", str(out), "--human-consistency", "--human-data", str(tmp_path / "mvh")]).output
    assert "kappa with humans" in text and "test_resnet" in text
    csv_text = in_process(["report", str(out), "--human-consistency", "--human-data", str(tmp_path / "mvh"),
                           "--format", "csv"]).output
    assert "not the ones robench checked" in csv_text  # written trials: the note says so (on stderr)
    csv_text = "\n".join(line for line in csv_text.splitlines() if not line.startswith("note:"))
    row = pd.read_csv(io.StringIO(csv_text)).iloc[0]
    assert row["experiment"] == "cue-conflict" and row["observers"] == 2 and row["images"] == len(images)
    trials = H.human_trials("cue-conflict", tmp_path / "mvh")
    want = H.with_humans(H.store_correctness("cue-conflict", {"key": list(store["key"]),
                                                               "cue_decision": store["cue_decision"].to_numpy()}),
                         "cue-conflict", tmp_path / "mvh")
    assert row["kappa_mean"] == pytest.approx(want.attrs["mean"], abs=1e-12) and len(trials) == 2 * len(images)
    from click.testing import CliRunner

    from robench.cli import cli

    missing = CliRunner().invoke(cli, ["report", str(out), "--human-consistency"])
    assert missing.exit_code == 2 and "--human-data" in missing.output and "not shipped" in missing.output
