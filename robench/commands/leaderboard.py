"""``robench leaderboard``: regenerate (or --check) leaderboard/README.md, its plots and its HTML page."""
import os

import click

DEFAULT_ENTRIES = "leaderboard/entries"
DEFAULT_REPORTED = "leaderboard/reported.csv"
DEFAULT_OUT = "leaderboard/README.md"


@click.command("leaderboard")
@click.option("--entries", default=DEFAULT_ENTRIES, show_default=True, type=click.Path(),
              help="Result records: <entries>/<model>/<suite>.json or flat <entries>/*.json.")
@click.option("--reported", default=DEFAULT_REPORTED, show_default=True, type=click.Path(),
              help="Published numbers (CSV), shown as reported rows.")
@click.option("--out", default=DEFAULT_OUT, show_default=True, type=click.Path(),
              help="Markdown to write; plots go to plots/ beside it.")
@click.option("--imported", default=None, type=click.Path(file_okay=False),
              help="Published results files, one folder per source with its import.json (default: imported/ "
                   "beside the --reported CSV, when it exists).")
@click.option("--html", "html_path", default=None, type=click.Path(dir_okay=False),
              help="The self-contained HTML page to write, every row of every table, sortable and filterable "
                   "(default: index.html beside OUT).")
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 if OUT or the page is not what the inputs generate (text compared, "
                   "not PNG bytes).")
@click.option("--strict", is_flag=True, help="Fail (exit 2) on a bad entry instead of warning and skipping it.")
@click.option("--same-section", "merged", multiple=True, type=click.Choice(["decoder", "precision"]),
              help="Let records that differ only in this (the JPEG decoder, the inference precision) share "
                   "sections; their rows name it. Repeatable.")
def command(entries, reported, out, imported, html_path, check, strict, merged):
    """Build the leaderboard from result records and published numbers.

    Records that differ in protocol (input size, training recipe, in-memory ImageNet-C, random
    weights, subsets) go to separate sections. Run from the repository root.
    """
    from robench.leaderboard import build, generate, stale

    if imported is None:
        beside = os.path.join(os.path.dirname(os.path.abspath(reported)), "imported")
        imported = beside if os.path.isdir(beside) else None
    elif not os.path.isdir(imported):
        raise click.BadParameter(f"{imported} is not a folder", param_hint="--imported")
    options = {"strict": strict, "merged": merged, "imported": imported, "html_path": html_path}
    board = generate(entries, reported, out, **options) if check else build(entries, reported, out, **options)
    for problem in board.problems:
        click.echo(f"warning: skipped {problem}", err=True)
    if not check:
        click.echo(f"wrote {out} ({len(board.plots)} plot(s)) and {board.html_path}")
        return
    reasons = stale(board, out)
    if reasons:
        again = _regenerate_command(entries, reported, out, merged, imported_flag(imported, reported), html_path)
        click.echo("; ".join(reasons) + f". Regenerate it: {again}", err=True)
        raise SystemExit(1)
    click.echo(f"{out} and {board.html_path} are up to date" if board.html_path else f"{out} is up to date")


def imported_flag(imported, reported):
    """--imported as the user must repeat it: None when it is the default beside the reported CSV."""
    beside = os.path.join(os.path.dirname(os.path.abspath(reported)), "imported")
    return None if imported is None or os.path.abspath(imported) == beside else imported


def _regenerate_command(entries, reported, out, merged=(), imported=None, html_path=None):
    args = ["robench leaderboard"]
    for flag, value, default in (("--entries", entries, DEFAULT_ENTRIES), ("--reported", reported, DEFAULT_REPORTED),
                                 ("--out", out, DEFAULT_OUT), ("--imported", imported, None),
                                 ("--html", html_path, None)):
        if value != default:
            args.append(f"{flag} {value}")
    args += [f"--same-section {aspect}" for aspect in sorted(set(merged))]
    return " ".join(args)
