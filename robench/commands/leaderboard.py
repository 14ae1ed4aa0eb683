"""``robench leaderboard``: regenerate (or --check) leaderboard/README.md and its plots."""
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
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 if OUT is not what the inputs generate (markdown compared, not PNG bytes).")
@click.option("--strict", is_flag=True, help="Fail (exit 2) on a bad entry instead of warning and skipping it.")
@click.option("--same-section", "merged", multiple=True, type=click.Choice(["decoder", "precision"]),
              help="Let records that differ only in this (the JPEG decoder, the inference precision) share "
                   "sections; their rows name it. Repeatable.")
def command(entries, reported, out, check, strict, merged):
    """Build the leaderboard from result records and published numbers.

    Records that differ in protocol (input size, training recipe, in-memory ImageNet-C, random
    weights, subsets) go to separate sections. Run from the repository root.
    """
    from robench.leaderboard import build, generate, stale

    board = (generate(entries, reported, out, strict=strict, merged=merged) if check
             else build(entries, reported, out, strict=strict, merged=merged))
    for problem in board.problems:
        click.echo(f"warning: skipped {problem}", err=True)
    if not check:
        click.echo(f"wrote {out} ({len(board.plots)} plot(s))")
        return
    reasons = stale(board, out)
    if reasons:
        click.echo("; ".join(reasons) + f". Regenerate it: {_regenerate_command(entries, reported, out, merged)}",
                   err=True)
        raise SystemExit(1)
    click.echo(f"{out} is up to date")


def _regenerate_command(entries, reported, out, merged=()):
    args = ["robench leaderboard"]
    for flag, value, default in (("--entries", entries, DEFAULT_ENTRIES), ("--reported", reported, DEFAULT_REPORTED),
                                 ("--out", out, DEFAULT_OUT)):
        if value != default:
            args.append(f"{flag} {value}")
    args += [f"--same-section {aspect}" for aspect in sorted(set(merged))]
    return " ".join(args)
