"""Resumption: a `robench eval` killed with SIGKILL mid-run, then run again, writes the record an
uninterrupted run writes; finished cells are not recomputed, and an unfinished cell continues from
its last checkpoint instead of from zero.

The model is the colour oracle made slow on purpose (tests/engine_support.py), so that the kill
lands in mid-flight; it logs every batch it evaluates, which counts the work a rerun redoes.
"""
import glob
import json
import os
import shutil
import subprocess

import pandas as pd
import pytest

from engine_support import (C_SELECT, SLOW_ORACLE, comparable, env, in_process, kill_when, load, logged_images,
                            robench_cmd, write_imagenet_c)
from robench.engine import ranges as R

pytestmark = [pytest.mark.multiprocess, pytest.mark.slow]

N_CLASSES = 6  # images per variant; 10 variants
N_TOTAL = 10 * N_CLASSES
MODEL_DIR = "slow_oracle"


def eval_args(root, out, *extra):
    return ["eval", "-s", "imagenet-c", "--select", C_SELECT, "-m", SLOW_ORACLE, "-r", root, "-o", out,
            "-b", "2", "--no-progress", "--save-predictions", *extra]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return write_imagenet_c(str(tmp_path_factory.mktemp("resume") / "c"), n_classes=N_CLASSES)


@pytest.fixture(scope="module")
def reference(root, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("reference"))
    in_process(eval_args(root, out, "-j", "0"))
    return out


def cells_dir(out):
    return os.path.join(out, MODEL_DIR, ".slices", "imagenet-c")


def finished_cells(out):
    return sorted(p for p in glob.glob(os.path.join(cells_dir(out), "*.json")) if ".progress-" not in p)


def checkpointed(out):
    """Samples recorded in in-cell checkpoints (rank 0 of 1). A progress file beside its finished slice
    result (killed between writing the result and removing the progress file) is not counted twice."""
    done = 0
    for path in glob.glob(os.path.join(cells_dir(out), "*.progress-0-of-1.json")):
        if os.path.exists(path[: -len(".progress-0-of-1.json")] + ".json"):
            continue
        try:
            with open(path) as f:
                done += R.total(json.load(f)["done"])
        except FileNotFoundError:  # polled while the run is alive: its cell finished and removed it
            continue
    return done


def test_killed_run_resumes_to_the_same_record(root, reference, tmp_path):
    out, log = str(tmp_path / "out"), str(tmp_path / "forwarded.log")
    # 2 workers: each stops at its own place, so the checkpoint holds several ranges; 2 runner
    # threads: checkpoints are taken while a later batch is still in a forward pass
    proc = subprocess.Popen(robench_cmd(eval_args(root, out, "-j", "2", "--threads", "2", "--progress-every", "1")),
                            env=env(SLOW_ORACLE_DELAY=0.15), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    killed = kill_when(proc, lambda: len(finished_cells(out)) >= 2 and checkpointed(out) > 0)
    assert killed, f"the run ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
    assert not os.path.exists(os.path.join(out, MODEL_DIR, "imagenet-c.json"))
    before = {p: os.stat(p).st_mtime_ns for p in finished_cells(out)}
    n_done = N_CLASSES * len(before) + checkpointed(out)
    assert 0 < n_done < N_TOTAL

    done = subprocess.run(robench_cmd(eval_args(root, out, "-j", "1")), env=env(SLOW_ORACLE_LOG=log),
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    # only what was neither a finished cell nor checkpointed is evaluated again
    assert logged_images(log) == N_TOTAL - n_done
    assert {p: os.stat(p).st_mtime_ns for p in before} == before
    assert comparable(load(os.path.join(out, MODEL_DIR, "imagenet-c.json")), out) == \
        comparable(load(os.path.join(reference, MODEL_DIR, "imagenet-c.json")), reference)
    pd.testing.assert_frame_equal(pd.read_parquet(os.path.join(out, MODEL_DIR, "imagenet-c.predictions.parquet")),
                                  pd.read_parquet(os.path.join(reference, MODEL_DIR, "imagenet-c.predictions.parquet")))
    assert not glob.glob(os.path.join(cells_dir(out), "*.progress-*"))


def test_rerun_reuses_finished_cells_and_redoes_other_protocols(root, reference, tmp_path, monkeypatch):
    log = str(tmp_path / "forwarded.log")
    monkeypatch.setenv("SLOW_ORACLE_LOG", log)
    in_process(eval_args(root, reference, "-j", "0"))
    assert logged_images(log) == 0  # everything was done
    out = str(tmp_path / "bf16")
    shutil.copytree(reference, out)  # the same cells, asked for at another precision
    in_process(eval_args(root, out, "-j", "0", "--precision", "bf16"))
    assert logged_images(log) == N_TOTAL
    assert load(os.path.join(out, MODEL_DIR, "imagenet-c.json"))["run"]["precision"] == "bf16"


def test_damaged_cell_file_is_recomputed(root, reference, tmp_path, monkeypatch):
    out, log = str(tmp_path / "out"), str(tmp_path / "forwarded.log")
    shutil.copytree(reference, out)
    victim = finished_cells(out)[3]
    with open(victim, "w") as f:
        f.write('{"protocol_hash": "tru')  # what a non-atomic writer would leave
    monkeypatch.setenv("SLOW_ORACLE_LOG", log)
    in_process(eval_args(root, out, "-j", "0"))
    assert logged_images(log) == N_CLASSES
    assert comparable(load(os.path.join(out, MODEL_DIR, "imagenet-c.json")), out) == \
        comparable(load(os.path.join(reference, MODEL_DIR, "imagenet-c.json")), reference)


def test_ranges_arithmetic_behind_checkpoints():
    assert R.from_indices([5, 2, 3, 9]) == [[2, 4], [5, 6], [9, 10]]
    assert R.subtract([[0, 10]], [[2, 4], [5, 6], [9, 12]]) == [[0, 2], [4, 5], [6, 9]]
    assert R.subtract([[0, 3]], []) == [[0, 3]] and R.subtract([[0, 3]], [[0, 3]]) == []
    todo = [[0, 2], [4, 5], [6, 9]]  # 6 samples left, split among 4 workers: 2, 2, 1, 1
    parts = [R.part(todo, i, 4) for i in range(4)]
    assert parts == [[[0, 2]], [[4, 5], [6, 7]], [[7, 8]], [[8, 9]]]
    assert R.part([[0, 1]], 2, 3) == []  # more workers than samples: empty, never padded
    assert R.contiguous_slice(13, 2, 3) == (9, 13) and R.contiguous_slice(1, 2, 3) == (1, 1)
