"""``robench submit``: a whole evaluation campaign on a Slurm cluster, one command (through submitit).

It takes what ``robench eval`` takes (flags or ``--config``) plus the cluster's settings, checks the inputs
on the submitting host (models given, data found, --out writable), writes the campaign into
``OUT/.campaign/``, and submits one job array of ``--array-tasks N`` elements (each ``robench eval --task i/N``)
and a merge job that runs after it. ``--resume OUT`` reruns only the tasks that failed or were lost.
"""
import click

from robench.commands import eval as eval_command

EVAL_PARAMS = [p for p in eval_command.command.params if p.name not in ("task", "print_config")]
EVAL_NAMES = {p.name for p in EVAL_PARAMS}


def _time_minutes(ctx, param, value):
    """--time as minutes, or as Slurm writes it: MM, H:MM:SS, D-HH[:MM[:SS]]."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        days, _, clock = text.rpartition("-")
        parts = [int(p) for p in clock.split(":")]
        if len(parts) == 1 and not days:
            minutes = parts[0]
        else:
            parts = parts + [0] * (3 - len(parts)) if days else [0] * (3 - len(parts)) + parts
            minutes = int(days or 0) * 1440 + parts[0] * 60 + parts[1] + (1 if parts[2] else 0)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a time (minutes, H:MM:SS or D-HH:MM)") from None
    if minutes < 1:
        raise click.BadParameter("must be at least one minute")
    return minutes


def _sbatch_options(ctx, param, values):
    out = {}
    for value in values:
        name, sep, setting = value.lstrip("-").partition("=")
        if not name:
            raise click.BadParameter(f"{value!r}: give NAME=VALUE (e.g. constraint=a100) or a flag NAME")
        out[name] = setting if sep else ""
    return out


CLUSTER_PARAMS = [
    click.Option(["--array-tasks", "-n"], type=click.IntRange(1), help="Job-array tasks N: each evaluates slice "
                 "i of N of every variant (default 1; not with --resume: the campaign keeps its N)."),
    click.Option(["--max-running"], type=click.IntRange(1), help="Array elements that run at once (sbatch --array=...%P)."),
    click.Option(["--partition", "-p"], help="Slurm partition."),
    click.Option(["--nodes"], type=click.IntRange(1), help="Nodes per array task (default 1)."),
    click.Option(["--gpus-per-node"], type=click.IntRange(0), help="GPUs per node (default 0); one rank per GPU "
                 "unless --ranks-per-node says otherwise."),
    click.Option(["--ranks-per-node"], type=click.IntRange(1), help="Processes (Slurm tasks, robench ranks) per "
                 "node: default one per GPU, or 1."),
    click.Option(["--cpus-per-rank"], type=click.IntRange(1), help="CPUs per rank (sbatch --cpus-per-task): "
                 "DataLoader workers need them."),
    click.Option(["--mem"], help="Memory per node, as sbatch takes it (e.g. 64G)."),
    click.Option(["--time", "time_min"], callback=_time_minutes, help="Time limit per array task: minutes, H:MM:SS "
                 "or D-HH:MM (default 60). A task that reaches it is requeued and resumes."),
    click.Option(["--account"], help="Slurm account."),
    click.Option(["--qos"], help="Slurm QOS."),
    click.Option(["--sbatch", "sbatch"], multiple=True, callback=_sbatch_options, metavar="NAME[=VALUE]",
                 help="Any other sbatch option, e.g. --sbatch constraint=a100 --sbatch exclusive (repeatable)."),
    click.Option(["--wait"], is_flag=True, help="Stay until the array is over and merge here, instead of "
                 "submitting a dependent merge job."),
    click.Option(["--dry-run"], is_flag=True, help="Print a plain sbatch script for the same work (no submitit "
                 "needed) and submit nothing."),
    click.Option(["--resume", "resume"], type=click.Path(file_okay=False), metavar="OUT",
                 help="Rerun the tasks of the campaign in OUT that failed, were lost or never ran (and merge again)."),
]
CLUSTER_NAMES = {p.name for p in CLUSTER_PARAMS}


@click.command("submit", params=[*EVAL_PARAMS, *CLUSTER_PARAMS])
@click.pass_context
def command(ctx, **flags):
    """Run `robench eval`'s work as a Slurm job array and merge it: records equal to one process's.

    \b
    robench submit -m resnet50.a1_in1k -s paper --data-dir /data -o results -n 16 -p gpu --gpus-per-node 1
    robench submit --config run.toml -n 8 --time 4:00:00 --dry-run > campaign.sbatch
    robench status results
    robench submit --resume results
    """
    from robench.campaign import submission

    cluster = {k: flags.pop(k) for k in list(flags) if k in CLUSTER_NAMES}
    given = {k for k in cluster if ctx.get_parameter_source(k) == click.core.ParameterSource.COMMANDLINE}
    echo = lambda line: click.echo(line, err=True)  # noqa: E731
    if cluster["resume"]:
        typed = [k for k in flags if ctx.get_parameter_source(k) == click.core.ParameterSource.COMMANDLINE]
        typed += ["array_tasks"] if "array_tasks" in given else []
        if typed:
            flag = {p.name: max(p.opts, key=len) for p in ctx.command.params}
            names = ", ".join(flag[k] for k in typed)
            raise click.UsageError(f"--resume reruns the campaign as it was submitted: leave out {names} "
                                   "(cluster settings such as --time or --partition may change)")
        text = submission.resume(cluster["resume"], submission.cluster_changes(cluster, given), wait=cluster["wait"],
                                 dry_run=cluster["dry_run"], echo=echo)
    else:
        config = eval_command.resolved(ctx, flags)
        text = submission.start(config, eval_command.checked_inputs(config, not cluster["dry_run"]), cluster, wait=cluster["wait"],
                                dry_run=cluster["dry_run"], echo=echo)
    if text:
        click.echo(text, nl=False)
