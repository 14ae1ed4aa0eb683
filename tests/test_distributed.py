"""torchrun: every rank evaluates a contiguous, unpadded slice and rank 0 writes records that match
a one-process run count for count and number for number, on wnid folders and on tar shards.

Real processes (`python -m torch.distributed.run ... -m robench eval`, gloo on CPU) on 13 real JPEGs,
a number that 2 and 3 do not divide, packed as 4 tar shards of 4, 4, 4 and 1 samples.
"""
import os

import pandas as pd
import pytest

from engine_support import ORACLE, comparable, in_process, load, run, write_folders, write_shards

pytestmark = pytest.mark.multiprocess

N_IMAGES = 13


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    base = tmp_path_factory.mktemp("distributed")
    folders = write_folders(str(base / "folders"), N_IMAGES)
    shards = write_shards("imagenet", folders, str(base / "shards"), shard_size=4)
    return {"folders": folders, "shards": shards}


@pytest.fixture(scope="module")
def one_process(data, tmp_path_factory):
    """Records of a plain one-process run per layout (with predictions)."""
    out = {}
    for layout, root in data.items():
        target = str(tmp_path_factory.mktemp(f"single-{layout}"))
        in_process(["eval", "-m", ORACLE, "-r", root, "-o", target, "-j", "0", "-b", "4", "--no-progress",
                    "--save-predictions"])
        out[layout] = target
    return out


def eval_args(root, out, *extra):
    return ["eval", "-m", ORACLE, "-r", root, "-o", out, "-j", "0", "-b", "4", "--no-progress", *extra]


def test_one_process_baseline_is_exact(one_process):
    for out in one_process.values():
        record = load(os.path.join(out, "colour_oracle", "imagenet.json"))
        (entry,) = record["variants"]
        assert (entry["n_images"], entry["n_seen"], entry["state"]["correct1"]) == (N_IMAGES, N_IMAGES, N_IMAGES)
        assert entry["metrics"]["top1"] == 100.0


# shards at world 3: slices [0,5) [5,9) [9,13) start and stop inside tar shards of 4
@pytest.mark.parametrize("layout,world", [("folders", 2), ("folders", 3), ("shards", 3)])
def test_torchrun_equals_one_process(data, one_process, tmp_path, layout, world):
    out = str(tmp_path / "out")
    run(eval_args(data[layout], out, "--save-predictions"), nproc=world)
    record = load(os.path.join(out, "colour_oracle", "imagenet.json"))
    single = load(os.path.join(one_process[layout], "colour_oracle", "imagenet.json"))
    assert record["run"]["world_size"] == world
    assert record["variants"] == single["variants"]  # counts, state, metrics: exactly equal
    assert comparable(record) == comparable(single)
    got = pd.read_parquet(os.path.join(out, "colour_oracle", "imagenet.predictions.parquet"))
    want = pd.read_parquet(os.path.join(one_process[layout], "colour_oracle", "imagenet.predictions.parquet"))
    assert list(got["index"]) == list(range(N_IMAGES))
    pd.testing.assert_frame_equal(got, want)
    # no checkpoints of unfinished cells are left behind
    cells = os.listdir(os.path.join(out, "colour_oracle", ".slices", "imagenet"))
    assert sorted(cells) == ["imagenet__val.json", "imagenet__val.predictions.parquet"]


def test_more_ranks_than_samples(data, tmp_path):
    """--shard 6/7 (the old name of --task) of 13 images is one image: rank 1 of 2 has an empty slice and must not hang."""
    single, multi = str(tmp_path / "single"), str(tmp_path / "multi")
    in_process(eval_args(data["shards"], single, "--shard", "6/7"))
    run(eval_args(data["shards"], multi, "--shard", "6/7"), nproc=2, timeout=120)
    name = os.path.join("colour_oracle", "imagenet.task-6-of-7.json")
    got, want = load(os.path.join(multi, name)), load(os.path.join(single, name))
    assert got["variants"][0]["n_seen"] == got["variants"][0]["n_images"] == 1
    assert got["variants"] == want["variants"]
    assert got["aggregates"] == {}  # task records carry no suite aggregates
