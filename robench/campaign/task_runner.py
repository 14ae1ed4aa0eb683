"""What runs inside each array element: ``robench eval --config OUT/.campaign/eval.toml --task i/N``.

The evaluation runs in a child process, exactly as on a command line, so a task's records are what the
same command would write by hand; its stderr passes through to the Slurm log and its last error line goes
into the task's state file. On preemption or a time limit submitit calls ``checkpoint`` and Slurm requeues
the element with the same arguments: the rerun resumes from the slice results and progress files the
killed one left, so the final record is the uninterrupted one. In an element of several Slurm tasks
(ranks), each rank runs the child; ranks come from Slurm's environment (``robench.engine.slurm_ranks``)
and only rank 0 writes the state file.
"""
import collections
import os
import subprocess
import sys

from robench.errors import RobenchError

try:  # the callable must be a submitit Checkpointable to be requeued; robench itself runs without submitit
    from submitit.helpers import Checkpointable as _Base
except ImportError:  # pragma: no cover - robench submit checks for submitit before it pickles a task
    _Base = object

TAIL_LINES = 40


def eval_argv(out, index, count, config):
    return [sys.executable, "-m", "robench", "eval", "--config", config, "--out", out, "--task", f"{index}/{count}"]


class CampaignTask(_Base):
    """Array task ``index`` of ``count`` of the campaign in ``out`` (submitit pickles one instance per element)."""

    def __call__(self, out, index, count):
        from robench.campaign import spec, tasks

        campaign = spec.load(out)
        rank0 = os.environ.get("SLURM_PROCID", "0") == "0"
        job_id = _job_id()
        state = tasks.mark_running(out, index, count, job_id) if rank0 else None
        code, tail = run_eval(eval_argv(campaign.out, index, count, campaign.eval_config))
        if code == 0:
            if rank0:
                tasks.mark_finished(out, state)
            return f"task {index}/{count} done"
        error = error_line(tail, code)
        if rank0:
            tasks.mark_finished(out, state, error=error, exit_code=code)
        raise RobenchError(f"task {index}/{count} failed: {error}")

    def checkpoint(self, *args, **kwargs):
        """Called by submitit on preemption or a time limit: requeue the same task (it resumes from its files)."""
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(self, *args, **kwargs)


def run_eval(argv):
    """Runs the evaluation child; its stderr is copied to ours (the Slurm log) and its tail kept."""
    tail = collections.deque(maxlen=TAIL_LINES)
    with subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, errors="replace", bufsize=1) as child:
        for line in child.stderr:
            sys.stderr.write(line)
            tail.append(line.rstrip("\n"))
    sys.stderr.flush()
    return child.returncode, list(tail)


def error_line(tail, code):
    """The line that says why the evaluation failed: a signal by its name (scancel, preemption or a time limit
    send SIGTERM), robench's own error lines first, else the last line."""
    if code < 0:
        import signal

        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"robench eval was stopped by {name} (scancel, preemption, a time limit or a lost node)"
    for line in reversed(tail):
        text = line.strip()
        if text.lower().startswith("error:"):
            return text
    for line in reversed(tail):
        if line.strip():
            return f"{line.strip()} (exit code {code})"
    return f"robench eval exited with code {code} and printed nothing"


def _job_id():
    array, element = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    if array and element:
        return f"{array}_{element}"
    return os.environ.get("SLURM_JOB_ID")
