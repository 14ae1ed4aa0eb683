"""robench rescore: records rebuilt from the per-sample store equal the run's, and a metric added after
the run is computed from the store alone."""
import json
import os
import shutil

import numpy as np
import pytest

from engine_support import in_process, load
from robench.errors import RecordError

MODEL = "test_resnet@random"  # random weights: every metric takes a value that is not trivial


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    from robench.datasets import get_suite
    from robench.datasets.imagenet_c import write_imagenet_c

    base = tmp_path_factory.mktemp("rescore")
    roots = {"imagenet-c": base / "c", "imagenet-r": base / "r", "cue-conflict": base / "cue"}
    write_imagenet_c(str(roots["imagenet-c"]), n_classes=3, per_class=2, size=32,
                     corruptions=("gaussian_noise", "fog"))
    get_suite("imagenet-r").write_generated(str(roots["imagenet-r"]), n_classes=4, per_class=3, size=32)
    get_suite("cue-conflict").write_generated(str(roots["cue-conflict"]), size=32)
    out = base / "out"
    for suite, root in roots.items():
        select = ["--select", "gaussian_noise,fog"] if suite == "imagenet-c" else []
        in_process(["eval", "-m", MODEL, "-o", str(out), "-j", "0", "-b", "7", "--no-progress", "--save-predictions",
                    "--input-size", "32", "-s", suite, "-r", str(root), *select])
    return out


def _records(out):
    model_dir = os.path.join(out, "test_resnet")
    return {name: load(os.path.join(model_dir, name)) for name in sorted(os.listdir(model_dir)) if name.endswith(".json")}


def _same(a, b):
    drop = ("created",)
    return {k: v for k, v in a.items() if k not in drop} == {k: v for k, v in b.items() if k not in drop}


def test_rescored_records_equal_the_originals(evaluated, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(evaluated, out)
    before = _records(out)
    assert set(before) == {"imagenet-c.json", "imagenet-r.json", "cue-conflict.json"}
    result = in_process(["rescore", str(out)])
    assert result.output.count("rescored ") == 3
    after = _records(out)
    for name in before:
        assert _same(before[name], after[name]), name
    r = after["imagenet-r.json"]["variants"][0]["metrics"]
    assert {"top1", "nll", "ece", "top1_1000way"} <= set(r)
    assert after["cue-conflict.json"]["variants"][0]["metrics"]["shape_bias"] is not None
    nll = [v["metrics"]["nll"] for v in after["imagenet-c.json"]["variants"]]
    assert len(set(nll)) > 1  # cells differ: the equality checks more than one number


def test_a_metric_added_after_the_run_is_computed_from_the_store(evaluated, tmp_path):
    from robench.engine.rescore import rescore_record
    from robench.metrics.base import METRICS, Metric, Value

    class Top3(Metric):  # new after the run: reads only the store's columns
        name = "top3_after"
        fields = {"correct3": ()}
        values = (Value("top3", True, "top-3 accuracy (%)"),)

        def update(self, state, scores):
            state["correct3"] += scores.top5[:, :3].eq(scores.target[:, None]).any(dim=1).sum()

        def sample_state(self, columns):
            return {"correct3": (columns["top5_class"][:, :3] == columns["label"][:, None]).any(axis=1)}

        def compute(self, state, n):
            return {"top3": 100.0 * state["correct3"].item() / n}

    METRICS.register("top3_after", Top3, replace=True)
    try:
        _check_added_metric(evaluated)
    finally:  # registered for this test only: later tests' default metric sets must not include it
        METRICS.unregister("top3_after")


def _check_added_metric(evaluated):
    from robench.engine.rescore import rescore_record
    import pandas as pd

    path = os.path.join(evaluated, "test_resnet", "imagenet-r.json")
    record, added = rescore_record(path, ["top3_after"])
    assert added == ["top3_after"]
    frame = pd.read_parquet(os.path.join(evaluated, "test_resnet", "imagenet-r.predictions.parquet"))
    top5, label = np.stack(frame["top5_class"].to_numpy()), frame["label"].to_numpy()
    want = 100.0 * np.mean((top5[:, :3] == label[:, None]).any(axis=1))
    metrics = record.variants[0].metrics
    assert metrics["top3"] == want
    assert metrics["top1"] <= metrics["top3"] <= metrics["top5"]
    assert "top3_after" in record.metric_set["metrics"]


def test_a_record_without_its_store_is_refused(evaluated, tmp_path):
    from robench.engine.rescore import rescore_record

    out = tmp_path / "out"
    shutil.copytree(evaluated, out)
    os.unlink(out / "test_resnet" / "imagenet-r.predictions.parquet")
    with pytest.raises(RecordError, match="no per-sample store"):
        rescore_record(out / "test_resnet" / "imagenet-r.json")
    record = json.loads((out / "test_resnet" / "imagenet-c.json").read_text())
    record["variants"] = record["variants"][:-1]  # another set of variants: the store is not this record's
    (out / "test_resnet" / "imagenet-c.json").write_text(json.dumps(record))
    with pytest.raises(RecordError, match="another measurement"):
        rescore_record(out / "test_resnet" / "imagenet-c.json")


def test_task_records_are_rescored_before_the_merge(tmp_path):
    """Each task record of a job array is rebuilt from its own store; merging the rescored tasks gives
    the record merging the originals gives."""
    from engine_support import C_SELECT, ORACLE, comparable, write_imagenet_c

    root = write_imagenet_c(str(tmp_path / "c"), n_classes=4)
    out = tmp_path / "tasks"
    for i in range(2):
        in_process(["eval", "-s", "imagenet-c", "--select", C_SELECT, "-m", ORACLE, "-r", root, "-o", str(out), "-j",
                    "0", "-b", "2", "--no-progress", "--save-predictions", "--task", f"{i}/2"])
    model_dir = out / "colour_oracle"
    tasks = sorted(p.name for p in model_dir.glob("imagenet-c.task-*.json"))
    before = {name: load(model_dir / name) for name in tasks}
    result = in_process(["rescore", str(out)])
    assert result.output.count("rescored ") == 2
    for name in tasks:
        assert _same(before[name], load(model_dir / name)), name
        assert load(model_dir / name)["aggregates"] == {} and "intervals" not in load(model_dir / name)
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    in_process(["merge", str(out)])
    for name, record in before.items():  # the originals, merged, give the same record
        (copy / "colour_oracle" / name).write_text(json.dumps(record))
    in_process(["merge", str(copy)])
    assert comparable(load(model_dir / "imagenet-c.json"), out) == comparable(
        load(copy / "colour_oracle" / "imagenet-c.json"), copy)
