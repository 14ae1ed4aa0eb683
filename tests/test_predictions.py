"""--save-predictions: a parquet file of per-sample top-5 predictions next to each record, from which
the record's metrics can be recomputed without running the model again."""
import os

import numpy as np
import pandas as pd
import pytest

from engine_support import ORACLE, in_process, load, write_imagenet_c
from robench.labels import subset_indices
from robench.metrics.calibration import ECE_BINS


@pytest.fixture(scope="module")
def imagenet_c(tmp_path_factory):
    base = tmp_path_factory.mktemp("predictions")
    root = write_imagenet_c(str(base / "c"), n_classes=5)
    out = str(base / "out")
    in_process(["eval", "-s", "imagenet-c", "--select", "gaussian_noise", "-m", ORACLE, "-r", root, "-o", out,
                "-j", "1", "-b", "3", "--no-progress", "--save-predictions"])
    record = load(os.path.join(out, "colour_oracle", "imagenet-c.json"))
    frame = pd.read_parquet(os.path.join(out, "colour_oracle", "imagenet-c.predictions.parquet"))
    return record, frame


def recomputed(rows):
    top5 = np.stack(rows["top5_class"].to_numpy())
    probs = np.stack(rows["top5_prob"].to_numpy())
    label = rows["label"].to_numpy()
    hit1 = top5[:, 0] == label
    conf = probs[:, 0].astype(np.float64)
    bins = np.clip((conf * ECE_BINS).astype(int), 0, ECE_BINS - 1)
    gap = sum(abs(conf[bins == b].sum() - hit1[bins == b].sum()) for b in range(ECE_BINS))
    return {"top1": 100.0 * hit1.mean(), "top5": 100.0 * (top5 == label[:, None]).any(axis=1).mean(),
            "nll": float(-np.log(rows["label_prob"].to_numpy().astype(np.float64)).mean()),
            "ece": 100.0 * gap / len(rows)}


def test_file_has_one_row_per_sample_in_order(imagenet_c):
    record, frame = imagenet_c
    assert list(frame.columns)[:7] == ["variant", "index", "key", "label", "top5_class", "top5_prob", "label_prob"]
    assert len(frame) == 5 * 5
    assert list(frame["variant"].unique()) == [v["name"] for v in record["variants"]]
    for _, rows in frame.groupby("variant", sort=False):
        assert list(rows["index"]) == list(range(5))
        assert all(k.endswith(".JPEG") for k in rows["key"])


def test_predictions_recompute_the_record(imagenet_c):
    record, frame = imagenet_c
    top1s = []
    for entry in record["variants"]:
        got = recomputed(frame[frame["variant"] == entry["name"]])
        assert got["top1"] == entry["metrics"]["top1"]  # counts: exact
        assert got["top5"] == entry["metrics"]["top5"]
        assert got["nll"] == pytest.approx(entry["metrics"]["nll"], abs=1e-5)
        assert got["ece"] == pytest.approx(entry["metrics"]["ece"], abs=1e-4)
        top1s.append(got["top1"])
    assert len(set(top1s)) > 1  # severities differ, so this checks more than one number


def test_subset_suites_predict_among_their_classes(tmp_path):
    from robench.datasets import get_suite

    root, out = str(tmp_path / "r"), str(tmp_path / "out")
    get_suite("imagenet-r").write_generated(root, n_classes=4, per_class=2, size=32)
    in_process(["eval", "-s", "imagenet-r", "-m", ORACLE, "-r", root, "-o", out, "-j", "0", "--no-progress",
                "--save-predictions"])
    record = load(os.path.join(out, "colour_oracle", "imagenet-r.json"))
    frame = pd.read_parquet(os.path.join(out, "colour_oracle", "imagenet-r.predictions.parquet"))
    allowed = set(subset_indices("imagenet_r"))
    assert set(np.stack(frame["top5_class"].to_numpy()).ravel()) <= allowed
    assert set(frame["label"]) <= allowed
    got = recomputed(frame)
    assert got["top1"] == record["variants"][0]["metrics"]["top1"]
    assert got["nll"] == pytest.approx(record["variants"][0]["metrics"]["nll"], abs=1e-5)
