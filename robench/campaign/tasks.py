"""One state file per array task, ``OUT/.campaign/tasks/task-<i>.json``: the truth ``status`` and the merge read.

A task writes "running" when it starts (with its attempt number: a requeued task starts again), then
"done" or "failed" with the error's last line. A file that says running while Slurm no longer knows the
job means the task was lost (a node died, the job was killed): ``status`` says so and ``--resume`` reruns it.
"""
import os
import socket

from robench.fileio import atomic_write_json
from robench.results import now, read_json

RUNNING, DONE, FAILED = "running", "done", "failed"


def state_path(out, index):
    from robench.campaign.spec import campaign_dir

    return os.path.join(campaign_dir(out), "tasks", f"task-{index}.json")


def read_state(out, index):
    """The task's state dict, or None if it never started (or its file is unreadable: treated as not started)."""
    path = state_path(out, index)
    try:
        return read_json(path) if os.path.isfile(path) else None
    except ValueError:
        return None


def mark_running(out, index, count, job_id=None):
    before = read_state(out, index) or {}
    state = {"task": index, "of": count, "state": RUNNING, "attempt": int(before.get("attempt", 0)) + 1,
             "job_id": job_id, "host": socket.gethostname(), "started": now(), "finished": None, "error": None}
    atomic_write_json(state_path(out, index), state)
    return state


def mark_finished(out, state, error=None, exit_code=0):
    state = {**state, "state": FAILED if error else DONE, "finished": now(), "error": error, "exit_code": exit_code}
    atomic_write_json(state_path(out, state["task"]), state)
    return state


def states(out, count):
    """[state or None] for tasks 0..count-1."""
    return [read_state(out, i) for i in range(count)]
