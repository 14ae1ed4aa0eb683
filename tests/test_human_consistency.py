"""Error consistency with model-vs-human's human observers: the shipped trials, the kappa of two models
whose raw trials model-vs-human published (equal to what its own analysis code computes), the humans'
reference, matching a robench store's keys to the trials, and `robench report --human-consistency`."""
import os

import numpy as np
import pandas as pd
import pytest

from engine_support import in_process
from robench.stats import human_consistency as H

HERE = os.path.join(os.path.dirname(__file__), "data", "model_vs_human")

# model-vs-human's ErrorConsistency (modelvshuman/plotting/analyses.py at 79ed7cd) run through a shim of its
# package on its raw-data (subjects at 79ed7cd, the models' trials at 93ee676), get_result's mean over the
# human observers; the humans' value is get_result_df's mean over observers of the mean with the others.
MVH = {"resnet50": 0.06799689102686254, "bagnet33": 0.028407735892475507}
MVH_RESNET50_SUBJECT_01 = 0.07662571624
MVH_HUMANS = {"cue-conflict": 0.3310516765636245, "sketch": 0.36961980763773356, "stylized": 0.5005823651030731}


def model_trials(name):
    return pd.read_csv(os.path.join(HERE, f"cue-conflict_{name}.csv"), dtype=str, keep_default_na=False)


def test_the_shipped_trials_are_model_vs_humans_experiments():
    sizes = {e: (H.human_trials(e)["subject"].nunique(), len(H.human_trials(e))) for e in H.EXPERIMENTS}
    assert sizes == {"cue-conflict": (10, 12800), "sketch": (7, 5600), "stylized": (5, 4000)}
    trials = H.human_trials("cue-conflict")
    assert trials["image_id"].nunique() == 1280 and "bird3-bird2.png" in set(trials["image_id"])


@pytest.mark.parametrize("model", sorted(MVH))
def test_kappa_with_humans_equals_model_vs_humans_analysis(model):
    got = H.with_humans(H.correctness(model_trials(model)), "cue-conflict")
    assert len(got) == 10 and (got["n"] == 1280).all()
    assert got.attrs["mean"] == pytest.approx(MVH[model], abs=1e-12)
    assert got.attrs["humans"] == pytest.approx(MVH_HUMANS["cue-conflict"], abs=1e-12)
    if model == "resnet50":
        assert got.loc[got["subject"] == "subject-01", "kappa"].item() == pytest.approx(MVH_RESNET50_SUBJECT_01,
                                                                                         abs=1e-11)


def test_kappa_by_hand_on_one_observer():
    """model-vs-human's steps, by hand: accuracies over all trials, then both sorted by image id."""
    model = model_trials("resnet50").sort_values("image_id").reset_index(drop=True)
    human = H.human_trials("cue-conflict")
    human = human[human["subject"] == "subject-04"].sort_values("image_id").reset_index(drop=True)
    assert model["image_id"].equals(human["image_id"])
    a, b = model["response"] == model["category"], human["response"] == human["category"]
    c_exp = a.mean() * b.mean() + (1 - a.mean()) * (1 - b.mean())
    want = ((a == b).mean() - c_exp) / (1 - c_exp)
    got = H.with_humans(H.correctness(model_trials("resnet50")), "cue-conflict")
    assert got.loc[got["subject"] == "subject-04", "kappa"].item() == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize("experiment", H.EXPERIMENTS)
def test_the_humans_reference_equals_model_vs_humans(experiment):
    assert H.human_reference(experiment) == pytest.approx(MVH_HUMANS[experiment], abs=1e-12)


def test_identical_answers_have_kappa_one_and_images_are_matched_by_file_name():
    assert H.kappa([True, True], [True, True]).kappa == 1.0  # model-vs-human's convention when c_obs is 1
    from robench.metrics.cue_conflict import CATEGORIES

    trials = model_trials("resnet50")
    keep = trials.iloc[::2]  # a store with half of the images: only those count
    columns = {"key": [f"cue-conflict/{c}/{i}" for c, i in zip(keep["category"], keep["image_id"])],
               "variant": ["cue-conflict/all"] * len(keep),
               "cue_decision": np.array([CATEGORIES.index(r) for r in keep["response"]], dtype=np.int8)}
    got = H.with_humans(H.store_correctness("cue-conflict", columns), "cue-conflict")
    assert (got["n"] == 640).all()
    assert got.attrs["mean"] == pytest.approx(H.with_humans(H.correctness(keep), "cue-conflict").attrs["mean"],
                                              abs=1e-12)


def test_suites_with_other_images_say_so():
    with pytest.raises(H.HumanDataError, match="does not hold model-vs-human's sketch stimuli"):
        H.store_correctness("imagenet-sketch", {})
    with pytest.raises(H.HumanDataError, match="none of the model's 1 images"):
        H.with_humans({"n01440764/x.JPEG": True}, "stylized")


def test_report_human_consistency(tmp_path):
    from robench.datasets import get_suite

    get_suite("cue-conflict").write_generated(str(tmp_path / "cue"), size=32)
    out = tmp_path / "out"
    in_process(["eval", "-m", "test_resnet@random", "-s", "cue-conflict", "-r", str(tmp_path / "cue"), "-o", str(out),
                "-j", "0", "--no-progress", "--input-size", "32", "--save-predictions"])
    text = in_process(["report", str(out), "--human-consistency"]).output
    assert "kappa with humans" in text and "test_resnet" in text and "0.331" in text
    csv = in_process(["report", str(out), "--human-consistency", "--format", "csv"]).output
    row = pd.read_csv(__import__("io").StringIO(csv)).iloc[0]
    assert row["experiment"] == "cue-conflict" and row["observers"] == 10 and 0 < row["images"] <= 1280
