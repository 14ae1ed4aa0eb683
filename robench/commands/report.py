"""``robench report``: the paper-style table of an ``robench eval --out`` folder."""
import click

FORMATS = ("table", "markdown", "csv", "json")  # robench.report.FORMATS, not imported here: --help stays instant


@click.command("report")
@click.argument("directory", type=click.Path())
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="table: terminal; markdown: GitHub tables with column definitions; csv/json: unrounded numbers.")
@click.option("--collection", metavar="NAME", help="Only the columns of this collection's suites, in its order.")
@click.option("--compare", nargs=2, metavar="A B",
              help="Model B against model A (names as in the Model column): A, B, B - A and which is better; "
                   "with --intervals also B - A's paired-bootstrap interval and, per variant, McNemar's exact "
                   "test and error consistency (both models' --save-predictions stores needed).")
@click.option("--intervals", is_flag=True,
              help="Value ± half-width of a 95%% interval (csv/json: <column>_low/_high): Clopper-Pearson "
                   "from the counts, or a paired bootstrap over image ids where --save-predictions stored samples.")
@click.option("--level", type=click.FloatRange(0.5, 0.999), default=0.95, show_default=True,
              help="Interval level.")
@click.option("--draws", type=click.IntRange(10, 100_000), default=1000, show_default=True,
              help="Bootstrap draws.")
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed (same seed, same intervals).")
@click.option("--human-consistency", is_flag=True,
              help="Error consistency of each model with model-vs-human's human observers (cue-conflict, from the "
                   "--save-predictions store), beside the humans' among themselves; needs --human-data.")
@click.option("--human-data", type=click.Path(file_okay=False), metavar="PATH",
              help="A checkout of github.com/bethgelab/model-vs-human (or its raw-data folder): the human trials, "
                   "which robench does not ship.")
def command(directory, fmt, collection, compare, intervals, level, draws, seed, human_consistency, human_data):
    """Models as rows, the suites' leaderboard columns as columns, for the records in DIRECTORY.

    DIRECTORY is a `robench eval --out` folder (<model>/<suite>.json). Definitions, joins (relative
    mCE, clean-subset top-1) and protocol sections are the leaderboard's. Job-array task records
    and unreadable files are skipped with a warning.
    """
    from robench import report

    suites = report.collection_suites(collection) if collection else None
    entries, problems = report.load_results(directory)
    for problem in problems:
        click.echo(f"warning: skipped {problem}", err=True)
    if not entries:
        raise report.no_records_error(directory, problems)
    if human_consistency:
        from robench.report_humans import human_consistency_frame, render_human_consistency

        if human_data is None:
            from robench.stats.human_consistency import GET

            raise click.UsageError(f"--human-consistency needs --human-data: {GET}")
        import os

        if not os.path.isdir(human_data):
            raise report.RobenchError(f"--human-data {human_data} is not a folder: {GET}")
        table = human_consistency_frame(entries, human_data)
        for reason in table.attrs["skipped"]:
            click.echo(f"warning: {reason}", err=True)
        if len(table) and not table.attrs["known"]:
            click.echo(f"note: the trial files under {human_data} are not the ones robench checked (model-vs-human "
                       "at 79ed7cd): numbers from other data", err=True)
        click.echo(render_human_consistency(table, fmt), nl=False)
        return
    options = {"level": level, "draws": draws, "seed": seed} if intervals else None
    frame = report.report_frame(entries, suites=suites, intervals=options)
    if compare:
        from robench import report_compare

        comparison = report_compare.compare(frame, *compare)
        if comparison.attrs.get("note"):
            click.echo(f"note: {comparison.attrs['note']}", err=True)
        click.echo(report_compare.render_comparison(comparison, fmt), nl=False)
        return
    click.echo(report.render(frame, fmt), nl=False)
