"""``robench merge``: combine the task records of a job array into the full records."""
import click


@click.command("merge")
@click.argument("directory", type=click.Path())
def command(directory):
    """Merge DIRECTORY's <suite>.task-i-of-N.json task records (from `robench eval --task i/N`).

    DIRECTORY is an --out folder (every model in it) or one model's folder. Writes
    <suite>.json (and <suite>.predictions.parquet when every task saved predictions), exactly
    as one run over all the data would have; stops with an error if a task is missing or
    duplicated, or if tasks disagree on protocol or data.
    """
    from robench.engine.merge import merge_directory

    for path, notes in merge_directory(directory):
        click.echo(f"merged -> {path}")
        for note in notes:
            click.echo(f"  note: {note}")
