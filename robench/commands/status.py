"""``robench status OUT``: a campaign's progress and failures, read from its output folder (and Slurm's queue)."""
import click


@click.command("status")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--no-slurm", is_flag=True, help="Read robench's files only; do not ask squeue.")
def command(out, no_slurm):
    """Tasks done/running/pending/failed, cells done per model and suite, images/s, the ETA and the merge.

    OUT is the --out folder of `robench submit`. A failed task shows its error; `robench submit --resume OUT`
    reruns the failed and lost ones.
    """
    from robench.campaign.status import read_status, render

    status = read_status(out, ask_slurm=not no_slurm)
    click.echo(render(status), nl=False)
