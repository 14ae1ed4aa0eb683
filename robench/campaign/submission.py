"""Starting and resuming campaigns: the settings checked and written, the array (and merge) submitted.

``start`` turns a resolved ``robench eval`` configuration and the cluster's settings into a campaign in the
output folder and submits it; ``resume`` resubmits only the tasks that have not finished (failed, lost, or
never ran) of the campaign already there, with its own eval settings (cluster settings may change: a longer
--time, another partition). With ``wait`` the submitting process follows the array and merges itself.
"""
import dataclasses
import os
import time

from robench.campaign import finish, slurm, spec, tasks
from robench.errors import RobenchError

POLL_S = 5.0


def cluster_settings(options, base=None):
    """A Cluster from the command's options (None: not given) over ``base`` (or the defaults)."""
    cluster = dataclasses.replace(base or spec.Cluster())
    for field in ("partition", "nodes", "gpus_per_node", "cpus_per_rank", "mem", "time_min", "max_running",
                  "account", "qos"):
        if options.get(field) is not None:
            setattr(cluster, field, options[field])
    if options.get("ranks_per_node") is not None:
        cluster.ranks_per_node = options["ranks_per_node"]
    elif options.get("gpus_per_node"):
        cluster.ranks_per_node = options["gpus_per_node"]  # one rank per GPU, as torchrun --nproc_per_node
    if options.get("sbatch"):
        cluster.sbatch = {**cluster.sbatch, **options["sbatch"]}
    return cluster


def cluster_changes(options, given):
    """Only the cluster options typed on the command line (for --resume: the rest stays as submitted)."""
    return {k: v for k, v in options.items() if k in given}


def start(config, located, options, wait=False, dry_run=False, echo=print):
    from robench.run_config import as_text

    out = os.path.abspath(config["out"])
    if spec.exists(out) and not dry_run:
        raise RobenchError(f"{out} already holds a campaign: follow it with `robench status {out}`, rerun what "
                           f"failed with `robench submit --resume {out}`, or choose another --out")
    n = options.get("array_tasks") or 1
    config_text = as_text({**config, "task": None})
    suites = {item.suite.name: {v.name: len(v) for v in item.variants} for item in located}
    cluster = cluster_settings(options)
    if dry_run:
        campaign = spec.Campaign(out, n, cluster, list(config["models"]), suites)
        return slurm.sbatch_script(campaign, config_text)
    slurm.require_submitit()
    campaign = spec.create(out, n, cluster, config["models"], suites, config_text)
    return _submit(campaign, list(range(n)), wait, echo)


def resume(out, changes, wait=False, dry_run=False, echo=print):
    campaign = spec.load(out)
    campaign.cluster = cluster_settings(changes, campaign.cluster)
    ids = campaign.slurm_ids()
    queue = slurm.queue_states(ids.values()) if ids else {}
    active = sorted(i for i, j in ids.items() if queue and j in queue)
    if active:
        raise RobenchError(f"task(s) {', '.join(map(str, active))} of {out} are still in Slurm's queue: wait for them "
                           f"(robench status {out}) or scancel them before --resume")
    todo = [i for i, s in enumerate(tasks.states(campaign.out, campaign.tasks)) if (s or {}).get("state") != tasks.DONE]
    if dry_run:
        return f"would rerun task(s) {', '.join(map(str, todo))} of {campaign.out}\n" if todo else \
            f"nothing to rerun in {campaign.out}\n"
    if not todo:
        echo(f"every task of {campaign.out} is done: nothing to rerun; merging again")
        outcome = finish.finish(campaign.out)
        return f"merged {len(outcome['merged'])} record(s) in {campaign.out}\n"
    slurm.require_submitit()
    campaign.save()
    return _submit(campaign, todo, wait, echo)


def _submit(campaign, indices, wait, echo):
    ids, merge_id = slurm.submit(campaign, indices, with_merge=not wait)
    shown = ", ".join(f"{i}: {j}" for i, j in sorted(ids.items()))
    echo(f"submitted {len(ids)} task(s) of {campaign.tasks} ({shown})"
         + (f"; merge job {merge_id} runs after them" if merge_id else ""))
    echo(f"follow it with: robench status {campaign.out}")
    if not wait:
        return ""
    wait_for(campaign, ids, echo)
    outcome = finish.finish(campaign.out)
    return f"merged {len(outcome['merged'])} record(s); report {outcome['report']}\n"


def wait_for(campaign, ids, echo, poll_s=POLL_S):
    """Returns when none of ``ids`` is in Slurm's queue any more (requeued tasks are waited for too)."""
    last = None
    while True:
        queue = slurm.queue_states(ids.values())
        if queue is None:
            raise RobenchError("Slurm does not answer (squeue failed): the tasks go on; follow them with "
                               f"`robench status {campaign.out}` and merge with `robench submit --resume {campaign.out}`")
        left = {j: s for j, s in queue.items() if j in set(ids.values())}
        if not left:
            return
        line = f"{len(left)} task(s) in the queue: " + ", ".join(f"{j} {s}" for j, s in sorted(left.items()))
        if line != last:
            echo(line)
            last = line
        time.sleep(poll_s)
