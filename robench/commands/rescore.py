"""``robench rescore``: rebuild records from their per-sample store (``--save-predictions``), no model needed."""
import click


@click.command("rescore")
@click.argument("directory", type=click.Path())
@click.option("--metric", "metrics", multiple=True, metavar="NAME",
              help="Also compute this registered metric (repeatable), e.g. one added after the run.")
@click.option("--dry-run", is_flag=True, help="Recompute and report, but leave the records as they are.")
def command(directory, metrics, dry_run):
    """Recompute every record in DIRECTORY from its <suite>.predictions.parquet.

    The metric states are summed from what each image contributes, so the records equal the ones the
    run wrote; --metric adds metrics the run did not have. Records without their own store are skipped
    with a warning.
    """
    from robench.engine.rescore import rescore_directory
    from robench.errors import RobenchError

    done, skipped = rescore_directory(directory, metrics, write=not dry_run)
    for reason in skipped:
        click.echo(f"warning: skipped {reason}", err=True)
    if not done:
        raise RobenchError(f"no record in {directory} could be rescored: evaluate with --save-predictions")
    for path, added in done:
        click.echo(f"{'checked' if dry_run else 'rescored'} {path}" + (f" (+ {', '.join(added)})" if added else ""))
