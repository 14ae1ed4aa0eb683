"""Ranks from Slurm's environment: ``srun robench eval ...`` runs one process per Slurm task, as torchrun would.

torchrun tells each process its rank through RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT.
Inside a Slurm job step (``srun``, or submitit's tasks, which are srun tasks) the same facts are in
SLURM_PROCID, SLURM_STEP_NUM_TASKS, SLURM_LOCALID and SLURM_STEP_NODELIST; this module turns the one into
the other, so an array element that spans several GPUs or nodes needs no torchrun. Only a step with
several tasks counts: a batch script itself (no SLURM_STEP_NUM_TASKS) is one process whatever
``--ntasks`` says, and must not wait for ranks that were never started.
"""
import re
import subprocess

from robench.errors import RobenchError

PORT_BASE, PORT_SPAN = 15000, 20000  # MASTER_PORT = PORT_BASE + job id % PORT_SPAN: one per job, the same on every node


def torchrun_env(environ):
    """{RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT} for a process of a multi-task Slurm step,
    or {} when this is not one (or torchrun's variables are already set: they win)."""
    if "WORLD_SIZE" in environ or "RANK" in environ:
        return {}
    try:
        world = int(environ.get("SLURM_STEP_NUM_TASKS", "1"))
    except ValueError:
        return {}
    if world <= 1:
        return {}
    try:
        rank, local_rank = int(environ["SLURM_PROCID"]), int(environ.get("SLURM_LOCALID", "0"))
        job = int(environ.get("SLURM_JOB_ID", "0"))
    except (KeyError, ValueError):
        raise RobenchError("a Slurm step of several tasks without a numeric SLURM_PROCID: start robench with srun "
                           "(or torchrun) so that each process knows its rank") from None
    nodes = environ.get("SLURM_STEP_NODELIST") or environ.get("SLURM_JOB_NODELIST") or "127.0.0.1"
    per_node = re.match(r"\d+", environ.get("SLURM_STEP_TASKS_PER_NODE", "")) or re.match(r"\d+", str(world))
    return {"RANK": str(rank), "WORLD_SIZE": str(world), "LOCAL_RANK": str(local_rank),
            "LOCAL_WORLD_SIZE": environ.get("LOCAL_WORLD_SIZE") or per_node.group(0),
            "MASTER_ADDR": environ.get("MASTER_ADDR") or first_host(nodes),
            "MASTER_PORT": environ.get("MASTER_PORT") or str(PORT_BASE + job % PORT_SPAN)}


def first_host(nodelist):
    """The first host of a Slurm node list ("gpu[03-05,09],cpu1" -> "gpu03"), as ``scontrol show hostnames``
    would give it; the simple forms are expanded here, anything else is asked of scontrol."""
    first = re.match(r"^([^,\[]+)(?:\[([^\]]+)\])?", nodelist.strip())
    if first and first.group(2) is None:
        return first.group(1)
    if first and re.fullmatch(r"\d+(-\d+)?(,\d+(-\d+)?)*", first.group(2)):
        return first.group(1) + first.group(2).split(",")[0].split("-")[0]
    try:
        out = subprocess.run(["scontrol", "show", "hostnames", nodelist], capture_output=True, text=True, check=True)
        return out.stdout.split()[0]
    except (OSError, subprocess.CalledProcessError, IndexError):
        raise RobenchError(f"cannot tell the first host of Slurm node list {nodelist!r}: set MASTER_ADDR") from None
