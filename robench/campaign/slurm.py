"""Talking to Slurm: submitting a campaign through submitit, the plain sbatch script of ``--dry-run``, the queue.

submitit is the field's convention for this (DeiT's and ConvNeXt's ``run_with_submitit.py``): one Slurm task
per GPU, requeue on preemption and time limits, the function and its arguments pickled into a folder that
every node sees. robench uses it for the array of evaluation tasks and for the dependent merge job
(``afterany``: it runs whether tasks failed or not, and names the failures). ``--dry-run`` prints an
equivalent sbatch script that needs no submitit (``robench eval --task auto`` in each element).
"""
import os
import shlex
import subprocess
import sys

from robench.errors import RobenchError

SIGNAL_DELAY_S = 90  # submitit's default: Slurm signals USR2 this long before the time limit, time to requeue
QUEUE_TIMEOUT_S = 20


def require_submitit():
    try:
        import submitit
    except ImportError:
        raise RobenchError("robench submit needs submitit: pip install 'robench[slurm]' (or pip install submitit); "
                           "robench submit --dry-run prints a plain sbatch script instead") from None
    import shutil

    if shutil.which("sbatch") is None:
        raise RobenchError("robench submit needs Slurm's sbatch on PATH: run it on a cluster's login node "
                           "(robench submit --dry-run prints the sbatch script without submitting)")
    return submitit


def executor(campaign, merge=False, dependency=None):
    """A submitit SlurmExecutor for the campaign's array (or, with ``merge``, its one-process merge job)."""
    submitit = require_submitit()
    cluster = campaign.cluster
    ex = submitit.SlurmExecutor(folder=os.path.join(campaign.folder, "slurm", "%j"))  # its python: this one
    params = {"job_name": "robench-merge" if merge else "robench", "time": cluster.time_min,
              "partition": cluster.partition, "account": cluster.account, "qos": cluster.qos,
              "signal_delay_s": SIGNAL_DELAY_S, "additional_parameters": dict(cluster.sbatch) or None}
    if merge:
        params.update(nodes=1, ntasks_per_node=1, cpus_per_task=1, dependency=dependency)
    else:
        params.update(nodes=cluster.nodes, ntasks_per_node=cluster.ranks_per_node,
                      cpus_per_task=cluster.cpus_per_rank, mem=cluster.mem,
                      gpus_per_node=cluster.gpus_per_node or None,
                      array_parallelism=cluster.max_running or 256)
    ex.update_parameters(**{k: v for k, v in params.items() if v is not None})
    return ex


def submit(campaign, indices, with_merge=True):
    """Submits tasks ``indices`` (one array) and, with ``with_merge``, the merge job after them; returns
    ({task index: job id}, merge job id or None) and records them in the campaign."""
    from robench.campaign.finish import finish
    from robench.campaign.task_runner import CampaignTask

    array = executor(campaign)
    k = len(indices)
    jobs = array.map_array(CampaignTask(), [campaign.out] * k, list(indices), [campaign.tasks] * k)
    ids = {i: job.job_id for i, job in zip(indices, jobs)}
    merge_id = None
    if with_merge:
        first = jobs[0].job_id.split("_")[0]
        merge_id = executor(campaign, merge=True, dependency=f"afterany:{first}").submit(finish, campaign.out).job_id
    campaign.add_submission(ids, merge_id)
    return ids, merge_id


def sbatch_script(campaign, config_text, robench=None):
    """A plain sbatch script doing the campaign's work: an array of ``robench eval --task auto`` (under srun when
    an element has several ranks) with the eval settings inline, and how to merge after it."""
    c = campaign.cluster
    robench = robench or f"{shlex.quote(sys.executable)} -m robench"
    array = f"0-{campaign.tasks - 1}" + (f"%{c.max_running}" if c.max_running else "")
    lines = ["#!/bin/bash",
             f"# robench campaign: {campaign.tasks} array task(s) of robench eval ({', '.join(campaign.models)} on "
             f"{', '.join(campaign.suites)}); each element evaluates its slice (--task auto), then merge.",
             "#SBATCH --job-name=robench", f"#SBATCH --array={array}", f"#SBATCH --nodes={c.nodes}",
             f"#SBATCH --ntasks-per-node={c.ranks_per_node}", f"#SBATCH --time={c.time_min}", "#SBATCH --requeue"]
    optional = (("partition", c.partition), ("gpus-per-node", c.gpus_per_node or None), ("cpus-per-task", c.cpus_per_rank),
                ("mem", c.mem), ("account", c.account), ("qos", c.qos))
    lines += [f"#SBATCH --{name}={value}" for name, value in optional if value is not None]
    lines += [f"#SBATCH --{name}" + (f"={value}" if value != "" else "") for name, value in sorted(c.sbatch.items())]
    ranks = c.nodes * c.ranks_per_node
    launch = "srun " if ranks > 1 else ""
    lines += ["set -euo pipefail", 'config="$(mktemp --suffix=.toml)"',
              "cat > \"$config\" <<'ROBENCH_EVAL_SETTINGS'", config_text.rstrip("\n"), "ROBENCH_EVAL_SETTINGS",
              f"{launch}{robench} eval --config \"$config\" --out {shlex.quote(campaign.out)} --task auto",
              'rm -f "$config"',
              "# a preempted element is requeued (--requeue) and resumes from its files; one that reaches --time is",
              "# not: resubmit it with the same script (--array=<its index>). When every element has finished:",
              f"#   sbatch --dependency=afterany:<array job id> --wrap \"{robench} merge {shlex.quote(campaign.out)}\""]
    return "\n".join(lines) + "\n"


def queue_states(job_ids):
    """{job id: Slurm state} of the jobs still in Slurm's queue (array elements one by one); None when Slurm
    does not answer (no squeue here, or the controller is down)."""
    arrays = sorted({str(j).split("_")[0] for j in job_ids})
    if not arrays:
        return {}
    try:
        out = subprocess.run(["squeue", "-h", "-r", "-o", "%i|%T", "-j", ",".join(arrays)], capture_output=True,
                             text=True, timeout=QUEUE_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        if "Invalid job id" in out.stderr:  # every job has left the queue
            return {}
        return None
    states = {}
    for line in out.stdout.splitlines():
        job, _, state = line.strip().partition("|")
        if job:
            states[job] = state
    return states
