"""Campaigns on a real Slurm cluster: `robench submit` (through submitit), `robench status`, `--resume`.

The cluster is the one-node Slurm of tests/slurm_cluster.py (munged, slurmctld, slurmd from Debian's
packages), started once per session. Every campaign's records are compared with one process's, count for
count. Data: generated ImageNet val and ImageNet-C folders in their real layouts (stand-ins for the released
sets, which cannot be downloaded here).
"""
import os
import subprocess
import sys
import time

import pytest

from engine_support import C_SELECT, ORACLE, REPO, SLOW_ORACLE, comparable, env, in_process, load, logged_images, write_imagenet_c
from robench.campaign import spec, tasks
from robench.campaign.status import read_status, render
from robench.datasets import get_suite
from robench.datasets.imagenet import write_imagenet

pytestmark = [pytest.mark.slurm, pytest.mark.multiprocess, pytest.mark.slow]
FLAKY = "campaign_models:flaky_oracle"
WAIT_S = 300


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("campaign-data")
    write_imagenet(str(root / "val"), n_classes=5, per_class=2, size=32)
    get_suite("imagenet-sketch").write_generated(str(root / "sketch"), n_classes=4, per_class=1, size=32)
    write_imagenet_c(str(root / "imagenet-c"), n_classes=3)
    return root


def roots(data):
    """Two suites: ImageNet val and ImageNet-Sketch."""
    return ["-s", "imagenet", "-s", "imagenet-sketch", "-r", f"imagenet={data / 'val'}", "-r", f"imagenet-sketch={data / 'sketch'}"]


def corruptions(data):
    """ImageNet-C, two corruptions x 5 severities (10 variants of 3 images)."""
    return ["-s", "imagenet-c", "-r", str(data / "imagenet-c"), "--select", C_SELECT]


def robench(args, cluster_env=None, check=True, timeout=WAIT_S, **extra):
    """``robench ARGS`` as a user types it, with the test cluster's SLURM_CONF and tests/ importable."""
    done = subprocess.run([sys.executable, "-m", "robench", *args], capture_output=True, text=True, timeout=timeout,
                          env=env(**(cluster_env or {}), **extra), cwd=REPO)
    if check and done.returncode != 0:
        raise AssertionError(f"robench {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def single_process(tmp_path, models, data, select=()):
    out = tmp_path / "single"
    for model in models:
        in_process(["eval", "-m", model, *roots(data), "-j", "0", "-b", "2", "--no-progress", "-o", str(out), *select])
    return out


def assert_same_records(campaign_out, single_out, models_suites):
    for model, suite in models_suites:
        got = load(campaign_out / model / f"{suite}.json")
        want = load(single_out / model / f"{suite}.json")
        assert [v["n_seen"] for v in got["variants"]] == [v["n_seen"] for v in want["variants"]]
        assert got["variants"] == want["variants"] and got["aggregates"] == want["aggregates"]
        assert comparable(got) == comparable(want)


def wait_until(condition, timeout=WAIT_S, what="the condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_a_campaign_of_two_models_on_two_suites_in_three_tasks_equals_one_process(slurm_cluster, data, tmp_path):
    out = tmp_path / "campaign"
    done = robench(["submit", "-m", ORACLE, "-m", "factories:tiny_net", *roots(data), "-j", "0", "-b", "2",
                    "-o", str(out), "--array-tasks", "3", "--time", "10", "--wait"], slurm_cluster.env)
    assert "submitted 3 task(s) of 3" in done.stderr and "merged 4 record(s)" in done.stdout
    single = single_process(tmp_path, [ORACLE, "factories:tiny_net"], data)
    assert_same_records(out, single, [(m, s) for m in ("colour_oracle", "tiny_net") for s in ("imagenet", "imagenet-sketch")])
    assert (out / "report.md").read_text().count("colour_oracle") >= 1
    status = robench(["status", str(out)], slurm_cluster.env).stdout
    assert "tasks: 3 done, 0 running, 0 pending, 0 failed, 0 lost" in status
    assert "colour_oracle / imagenet-sketch: 3/3" in status and "tiny_net / imagenet: 3/3" in status
    assert "merge (" in status and "4 record(s) written" in status


def test_ranks_of_an_element_come_from_slurm(slurm_cluster, data, tmp_path):
    """Two array tasks of two Slurm tasks (ranks) each: a gloo world of 2 per element, started by srun."""
    out = tmp_path / "campaign"
    robench(["submit", "-m", ORACLE, "-r", str(data / "val"), "-j", "0", "-b", "2", "-o", str(out),
             "--array-tasks", "2", "--ranks-per-node", "2", "--time", "10", "--wait"], slurm_cluster.env)
    task = load(out / "colour_oracle" / "imagenet.task-0-of-2.json")
    assert task["run"]["world_size"] == 2
    single = tmp_path / "single"
    in_process(["eval", "-m", ORACLE, "-r", str(data / "val"), "-j", "0", "-b", "2", "--no-progress", "-o", str(single)])
    assert_same_records(out, single, [("colour_oracle", "imagenet")])


def test_a_task_requeued_mid_run_resumes_to_the_same_records(slurm_cluster, data, tmp_path):
    out = tmp_path / "campaign"
    log = tmp_path / "batches.log"
    slow = {"SLOW_ORACLE_DELAY": "0.4", "SLOW_ORACLE_LOG": str(log)}
    robench(["submit", "-m", SLOW_ORACLE, *corruptions(data), "-j", "0", "-b", "2", "-o", str(out), "--array-tasks", "2",
             "--progress-every", "1", "--time", "10"], slurm_cluster.env, **slow)
    campaign = spec.load(out)
    job = campaign.slurm_ids()[1]
    slices = out / "slow_oracle" / ".slices" / "imagenet-c"
    wait_until(lambda: slices.is_dir() and any(p.name.endswith("task-1-of-2.json") for p in slices.iterdir()),
               what="task 1 to finish its first slice")
    slurm_cluster.run("scontrol", "requeue", job)
    # Slurm holds a requeued job for two minutes (Reason=BeginTime); let it start again at once
    wait_until(lambda: slurm_cluster.job_state(job) == "PENDING", what="the requeued task to be pending")
    slurm_cluster.run("scontrol", "update", f"JobId={job}", "StartTime=now")
    wait_until(lambda: (tasks.read_state(out, 1) or {}).get("attempt", 0) >= 2, what="the requeued task to start again")
    wait_until(lambda: (out / ".campaign" / "merge.json").exists(), what="the dependent merge job")
    assert tasks.read_state(out, 1)["state"] == tasks.DONE and tasks.read_state(out, 1)["attempt"] == 2
    single = tmp_path / "single"
    in_process(["eval", "-m", ORACLE, *corruptions(data), "-j", "0", "-b", "2", "--no-progress", "-o", str(single)])
    got, want = load(out / "slow_oracle" / "imagenet-c.json"), load(single / "colour_oracle" / "imagenet-c.json")
    assert got["variants"] == want["variants"] and got["aggregates"] == want["aggregates"]
    # the requeued attempt resumed from the killed one's files: at most the batch in flight was evaluated twice
    assert 30 <= logged_images(log) <= 30 + 4


def test_a_cancelled_task_is_named_and_resume_reruns_only_it(slurm_cluster, data, tmp_path):
    out = tmp_path / "campaign"
    robench(["submit", "-m", SLOW_ORACLE, *corruptions(data), "-j", "0", "-b", "2", "-o", str(out),
             "--array-tasks", "2", "--time", "10"], slurm_cluster.env, SLOW_ORACLE_DELAY="0.3")
    job = spec.load(out).slurm_ids()[0]
    wait_until(lambda: (tasks.read_state(out, 0) or {}).get("state") == tasks.RUNNING, what="task 0 to start")
    running = robench(["status", str(out)], slurm_cluster.env).stdout  # a campaign in flight, as its files and Slurm say
    assert f"task 0: running job {job} [RUNNING]" in running and "merge: not run yet" in running
    slurm_cluster.run("scancel", job)
    wait_until(lambda: (out / ".campaign" / "merge.json").exists(), what="the merge job after the array")
    status = read_status(out)
    assert [t.state for t in status.tasks] == ["failed", "done"] and status.rerun == [0]
    text = render(status)
    assert "task 0: failed" in text and "stopped by SIGTERM" in text and f"robench submit --resume {out}" in text
    assert not (out / "slow_oracle" / "imagenet-c.json").exists()  # nothing partial
    done = robench(["submit", "--resume", str(out), "--wait"], slurm_cluster.env, SLOW_ORACLE_DELAY="0")
    assert "submitted 1 task(s) of 2 (0:" in done.stderr
    assert tasks.read_state(out, 1)["attempt"] == 1  # task 1 was not rerun
    single = tmp_path / "single"
    in_process(["eval", "-m", ORACLE, *corruptions(data), "-j", "0", "-b", "2", "--no-progress", "-o", str(single)])
    got, want = load(out / "slow_oracle" / "imagenet-c.json"), load(single / "colour_oracle" / "imagenet-c.json")
    assert got["variants"] == want["variants"] and got["aggregates"] == want["aggregates"]


def test_a_failing_model_is_named_the_others_are_written_and_resume_completes(slurm_cluster, data, tmp_path):
    out, fail = tmp_path / "campaign", tmp_path / "fail-on-element"
    fail.write_text("1")
    done = robench(["submit", "-m", ORACLE, "-m", FLAKY, "-r", str(data / "val"), "-j", "0", "-b", "2", "-o", str(out),
                    "--array-tasks", "2", "--time", "10", "--wait"], slurm_cluster.env, check=False,
                   FLAKY_ORACLE_FAIL_FILE=str(fail))
    assert done.returncode == 2
    assert "task 1 failed: error: model flaky_oracle failed" in done.stderr
    assert f"rerun task(s) 1 with: robench submit --resume {out}" in done.stderr
    assert (out / "colour_oracle" / "imagenet.json").exists()  # the other model's records are written
    assert not (out / "flaky_oracle" / "imagenet.json").exists()  # nothing partial
    status = robench(["status", str(out)], slurm_cluster.env).stdout
    assert "task 1: failed" in status and "weights file missing on this node" in status
    assert "not written: flaky_oracle/imagenet (task(s) 1 missing)" in status
    fail.unlink()
    robench(["submit", "--resume", str(out), "--wait"], slurm_cluster.env, FLAKY_ORACLE_FAIL_FILE=str(fail))
    single = tmp_path / "single"
    in_process(["eval", "-m", ORACLE, "-r", str(data / "val"), "-j", "0", "-b", "2", "--no-progress", "-o", str(single)])
    got, want = load(out / "flaky_oracle" / "imagenet.json"), load(single / "colour_oracle" / "imagenet.json")
    assert got["variants"] == want["variants"]
    assert "tasks: 2 done" in robench(["status", str(out)], slurm_cluster.env).stdout


def test_the_dry_run_is_an_sbatch_script_for_the_same_work(slurm_cluster, data, tmp_path):
    out = tmp_path / "campaign"
    script = robench(["submit", "-m", ORACLE, *roots(data), "-j", "0", "-b", "2", "-o", str(out), "--array-tasks", "3",
                      "--max-running", "2", "--time", "0:10:00", "--dry-run"], slurm_cluster.env).stdout
    assert script.startswith("#!/bin/bash") and "#SBATCH --array=0-2%2" in script and "--task auto" in script
    assert not out.exists()  # a dry run writes nothing
    path = tmp_path / "campaign.sbatch"
    path.write_text(script)
    assert slurm_cluster.run("sbatch", "--test-only", str(path), check=False).returncode == 0
    submitted = slurm_cluster.run("sbatch", "--parsable", "--chdir", str(tmp_path), str(path))
    array = submitted.stdout.strip().split(";")[0]
    wait_until(lambda: all(slurm_cluster.job_state(f"{array}_{i}") == "COMPLETED" for i in range(3)),
               what="the sbatch array to complete")
    robench(["merge", str(out)])
    single = single_process(tmp_path, [ORACLE], data)
    assert_same_records(out, single, [("colour_oracle", "imagenet"), ("colour_oracle", "imagenet-sketch")])
