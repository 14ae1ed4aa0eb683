"""Job arrays: `robench eval --task i/N` writes task records; `robench merge` sums them into the
record (and predictions file) that one run over all the data writes, aggregates included, and
refuses sets that are incomplete, duplicated or made under different protocols or data."""
import os
import shutil

import pandas as pd
import pytest
from click.testing import CliRunner

from engine_support import C_SELECT, ORACLE, comparable, in_process, load, write_imagenet_c
from robench.cli import cli
from robench.results import atomic_write_json

MODEL_DIR = "colour_oracle"


def eval_args(root, out, *extra):
    return ["eval", "-s", "imagenet-c", "--select", C_SELECT, "-m", ORACLE, "-r", root, "-o", out,
            "-j", "0", "-b", "2", "--no-progress", "--save-predictions", *extra]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A one-process run and the 3 shards of a job array over 4 images x 10 ImageNet-C cells."""
    base = tmp_path_factory.mktemp("merge")
    root = write_imagenet_c(str(base / "c"), n_classes=4)
    single, shards = str(base / "single"), str(base / "shards")
    in_process(eval_args(root, single))
    for i in range(3):
        in_process(eval_args(root, shards, "--task", f"{i}/3"))
    return {"root": root, "single": single, "shards": shards}


def task_record(out, i, n=3):
    return os.path.join(out, MODEL_DIR, f"imagenet-c.task-{i}-of-{n}.json")


def merge(directory):
    return CliRunner().invoke(cli, ["merge", directory])


def copy_shards(runs, tmp_path):
    target = str(tmp_path / "copy")
    shutil.copytree(runs["shards"], target)
    return target


def test_task_records_are_slices_without_aggregates(runs):
    sizes = [[v["n_images"] for v in load(task_record(runs["shards"], i))["variants"]] for i in range(3)]
    assert sizes == [[2] * 10, [1] * 10, [1] * 10]  # 4 images per cell split 2/1/1, unpadded
    assert all(load(task_record(runs["shards"], i))["aggregates"] == {} for i in range(3))


def test_merge_equals_one_run(runs, tmp_path):
    out = copy_shards(runs, tmp_path)
    result = merge(out)  # the --out folder: every model in it
    assert result.exit_code == 0, result.output
    merged = load(os.path.join(out, MODEL_DIR, "imagenet-c.json"))
    single = load(os.path.join(runs["single"], MODEL_DIR, "imagenet-c.json"))
    assert merged["variants"] == single["variants"]
    assert merged["aggregates"]["corruption_error"] == single["aggregates"]["corruption_error"]
    noise = [v["metrics"]["error"] for v in merged["variants"] if v["corruption"] == "gaussian_noise"]
    assert merged["aggregates"]["corruption_error"]["gaussian_noise"] == pytest.approx(sum(noise) / 5)
    # notes name the output folder (e.g. where the clean record would be): the only difference
    assert comparable(merged, out) == comparable(single, runs["single"])
    # intervals too: Clopper-Pearson from the summed counts, the aggregates' bootstrap from the merged store
    assert merged["intervals"] == single["intervals"] and merged["intervals"]["aggregates"]["values"]["ce"]
    got = pd.read_parquet(os.path.join(out, MODEL_DIR, "imagenet-c.predictions.parquet"))
    want = pd.read_parquet(os.path.join(runs["single"], MODEL_DIR, "imagenet-c.predictions.parquet"))
    assert len(got) == 40
    pd.testing.assert_frame_equal(got, want)


def test_merge_of_one_model_folder(runs, tmp_path):
    out = copy_shards(runs, tmp_path)
    result = merge(os.path.join(out, MODEL_DIR))
    assert result.exit_code == 0, result.output
    assert os.path.isfile(os.path.join(out, MODEL_DIR, "imagenet-c.json"))


def test_missing_shard_is_an_error(runs, tmp_path):
    out = copy_shards(runs, tmp_path)
    os.unlink(task_record(out, 1))
    result = merge(out)
    assert result.exit_code == 2
    assert "task(s) 1/3 of imagenet-c are missing" in result.output
    assert not os.path.exists(os.path.join(out, MODEL_DIR, "imagenet-c.json"))


def test_duplicated_shard_is_an_error(runs, tmp_path):
    out = copy_shards(runs, tmp_path)
    shutil.copy(task_record(out, 0), task_record(out, 2))  # shard 0 twice, shard 2 gone
    result = merge(out)
    assert result.exit_code == 2
    assert "holds task [0, 3] but its name says 2/3" in result.output


def test_shards_of_two_job_arrays_are_an_error(runs, tmp_path):
    out = copy_shards(runs, tmp_path)
    record = load(task_record(out, 0))
    record["run"]["task"] = [0, 2]
    atomic_write_json(task_record(out, 0, 2), record)
    result = merge(out)
    assert result.exit_code == 2
    assert "job arrays of different sizes (of-2, of-3)" in result.output


@pytest.mark.parametrize("field,value,words", [
    ("measurement_id", "0" * 16, "differ in measurement_id"),
    ("fingerprint", "f" * 16, "differ in data fingerprint"),
])
def test_shards_that_disagree_are_an_error(runs, tmp_path, field, value, words):
    out = copy_shards(runs, tmp_path)
    record = load(task_record(out, 2))
    if field == "fingerprint":
        record["suite"]["fingerprint"] = value
    else:
        record[field] = value
    atomic_write_json(task_record(out, 2), record)
    result = merge(out)
    assert result.exit_code == 2
    assert words in result.output and "imagenet-c.task-2-of-3.json" in result.output


def test_nothing_to_merge_says_what_to_do(tmp_path):
    result = merge(str(tmp_path))
    assert result.exit_code == 2
    assert "robench eval ... --task i/N" in result.output


def test_merge_on_tar_shards_equals_one_run(runs, tmp_path):
    """The same job array over the data packed as tar shards of 3 (shard slices cross tar files)."""
    from engine_support import write_shards

    packed = write_shards("imagenet-c", runs["root"], str(tmp_path / "packed"), shard_size=3,
                          select=C_SELECT.split(","))
    out = str(tmp_path / "out")
    for i in range(3):
        in_process(eval_args(packed, out, "--task", f"{i}/3"))
    assert merge(out).exit_code == 0
    merged = load(os.path.join(out, MODEL_DIR, "imagenet-c.json"))
    single = load(os.path.join(runs["single"], MODEL_DIR, "imagenet-c.json"))
    assert merged["variants"] == single["variants"]
    assert merged["suite"].pop("data_format") == {"format": "robench-shards", "files": ["manifest.json"]}
    assert single["suite"].pop("data_format") == {"format": "folder"}  # how the data was held: the one difference
    assert comparable(merged, out) == comparable(single, runs["single"])


def test_the_merged_record_is_no_task_of_the_array(runs, tmp_path):
    out = copy_shards(runs, tmp_path)
    assert load(task_record(out, 1))["run"]["config"]["task"] == "1/3"  # what each task was run with
    assert merge(out).exit_code == 0
    merged = load(os.path.join(out, MODEL_DIR, "imagenet-c.json"))
    assert merged["run"]["task"] is None and merged["run"]["config"]["task"] is None


def test_a_bad_state_in_a_task_record_names_its_file(runs, tmp_path):
    out = copy_shards(runs, tmp_path)
    record = load(task_record(out, 1))
    record["variants"][3]["state"]["correct1"] = [1, 2, 3]  # not the shape its metric set declares
    atomic_write_json(task_record(out, 1), record)
    result = merge(out)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "imagenet-c.task-1-of-3.json: variant" in result.output
