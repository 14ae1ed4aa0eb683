"""Every file written beside a record names the measurement it belongs to; a stale one is never merged
or left to look current.

Before: after an image was replaced and the tasks rerun without --save-predictions, `robench merge` merged
the old parquets (record top-1 98.0, merged predictions 100.0, no note); without tasks the old parquet
stayed beside the new record; tasks run with `--select fog --save-predictions` and rerun with `--select
snow` made merge fail with a KeyError and no record. Generated ImageNet val and ImageNet-C folders (real
JPEGs) stand in for the released data.
"""
import os
import shutil

import numpy as np
import pyarrow.parquet as pq
from click.testing import CliRunner

from engine_support import ORACLE, in_process, load, write_imagenet_c
from robench.cli import cli
from robench.datasets.colour_code import make_image
from robench.datasets.imagenet import write_imagenet
from robench.engine.predictions import identity_of, record_identity
from robench.labels import imagenet_wnids

MODEL = "colour_oracle"


def eval_args(root, out, *extra, suite="imagenet"):
    return ["eval", "-s", suite, "-m", ORACLE, "-r", str(root), "-o", str(out), "-j", "0", "-b", "3",
            "--no-progress", *extra]


def repaint_one_image(root):
    """Replaces the first image with one of another class's colour (same name): the oracle now errs on it."""
    folder = sorted(os.listdir(os.path.join(root, "val")))[0]
    name = sorted(os.listdir(os.path.join(root, "val", folder)))[0]
    other = (imagenet_wnids().index(folder) + 1) % 1000
    make_image(other, np.random.default_rng(0), 40, 40).save(os.path.join(root, "val", folder, name), quality=95)
    return f"{folder}/{name}", other


def test_predictions_name_their_measurement(tmp_path):
    write_imagenet(str(tmp_path / "val"), n_classes=3, per_class=2, size=40)
    in_process(eval_args(tmp_path / "val", tmp_path / "out", "--save-predictions"))
    record = load(tmp_path / "out" / MODEL / "imagenet.json")
    assert identity_of(tmp_path / "out" / MODEL / "imagenet.predictions.parquet") == record_identity(record)


def test_a_rerun_without_predictions_removes_the_old_file(tmp_path):
    write_imagenet(str(tmp_path / "val"), n_classes=3, per_class=2, size=40)
    out = tmp_path / "out"
    in_process(eval_args(tmp_path / "val", out, "--save-predictions"))
    side = out / MODEL / "imagenet.predictions.parquet"
    in_process(eval_args(tmp_path / "val", out))  # same measurement: the file still describes the record
    assert side.exists()
    repaint_one_image(str(tmp_path / "val"))
    result = CliRunner().invoke(cli, eval_args(tmp_path / "val", out))
    assert result.exit_code == 0 and load(out / MODEL / "imagenet.json")["variants"][0]["metrics"]["top1"] < 100
    assert not side.exists() and "predictions of another measurement" in result.output


def test_merge_never_merges_task_predictions_of_another_run(tmp_path):
    write_imagenet(str(tmp_path / "val"), n_classes=4, per_class=2, size=40)
    out = tmp_path / "out"
    for i in range(2):
        in_process(eval_args(tmp_path / "val", out, "--task", f"{i}/2", "--save-predictions"))
    in_process(["merge", str(out)])
    merged_side = out / MODEL / "imagenet.predictions.parquet"
    assert merged_side.exists()
    key, other = repaint_one_image(str(tmp_path / "val"))
    for i in range(2):  # rerun without --save-predictions: each task removes its stale parquet
        said = in_process(eval_args(tmp_path / "val", out, "--task", f"{i}/2")).output
        assert "predictions of another measurement" in said
    result = CliRunner().invoke(cli, ["merge", str(out)])
    assert result.exit_code == 0, result.output
    assert load(out / MODEL / "imagenet.json")["variants"][0]["metrics"]["top1"] == 87.5
    assert not merged_side.exists() and "predictions of another measurement" in result.output  # it said 100 %
    for i in range(2):  # with predictions again: merged, and the repainted image is predicted as it now looks
        in_process(eval_args(tmp_path / "val", out, "--task", f"{i}/2", "--save-predictions"))
    in_process(["merge", str(out)])
    rows = pq.read_table(merged_side).to_pylist()
    assert [r["top5_class"][0] for r in rows if r["key"] == key] == [other]
    # task files swapped by hand (or copied from another run): named, and nothing merged from them
    first, second = (out / MODEL / f"imagenet.task-{i}-of-2.predictions.parquet" for i in range(2))
    data = first.read_bytes()
    first.write_bytes(second.read_bytes())
    second.write_bytes(data)
    before = merged_side.read_bytes()
    result = CliRunner().invoke(cli, ["merge", str(out)])
    assert result.exit_code == 0 and "belong(s) to another run of the task" in result.output
    assert merged_side.read_bytes() == before  # the earlier merge of this same measurement stays as it was


def test_tasks_rerun_with_another_select_merge_with_a_note(tmp_path):
    root = write_imagenet_c(str(tmp_path / "c"), n_classes=2)
    out = tmp_path / "out"
    for i in range(2):
        in_process(eval_args(root, out, "--task", f"{i}/2", "--select", "gaussian_noise", "--save-predictions",
                             suite="imagenet-c"))
    for i in range(2):
        in_process(eval_args(root, out, "--task", f"{i}/2", "--select", "brightness", suite="imagenet-c"))
    result = CliRunner().invoke(cli, ["merge", str(out)])
    assert result.exit_code == 0, result.output
    record = load(out / MODEL / "imagenet-c.json")
    assert {v["corruption"] for v in record["variants"]} == {"brightness"}
    assert not (out / MODEL / "imagenet-c.predictions.parquet").exists()
    assert not list((out / MODEL).glob("imagenet-c.task-*.predictions.parquet"))  # the fog-era files are gone


def test_a_stale_part_beside_a_slice_result_is_not_reused(tmp_path):
    """Run with predictions, change an image, rerun without (slice results recomputed, old parts left),
    then with predictions again: the parts are recomputed, not taken from the first run."""
    write_imagenet(str(tmp_path / "val"), n_classes=3, per_class=2, size=40)
    out = tmp_path / "out"
    in_process(eval_args(tmp_path / "val", out, "--save-predictions"))
    key, other = repaint_one_image(str(tmp_path / "val"))
    in_process(eval_args(tmp_path / "val", out))
    part = out / MODEL / ".slices" / "imagenet" / "imagenet__val.predictions.parquet"
    assert part.exists()  # left by the first run: its identity says so
    in_process(eval_args(tmp_path / "val", out, "--save-predictions"))
    rows = pq.read_table(out / MODEL / "imagenet.predictions.parquet").to_pylist()
    assert [r["top5_class"][0] for r in rows if r["key"] == key] == [other]
    shutil.rmtree(out)
