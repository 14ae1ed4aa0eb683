"""``robench leaderboard-import SOURCE PATH...``: published results files -> reported rows (a CSV in reported.csv's shape)."""
import click


@click.command("leaderboard-import")
@click.argument("source", type=click.Choice(["timm", "hendrycks-imagenet-c"]))
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--commit", required=True, help="Commit of the publisher's repository the files come from "
                                               "(written into every row's source URL).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="CSV of reported rows to write.")
def command(source, paths, commit, out):
    """Turn a publisher's results files into reported rows with their source and protocol.

    timm: results-imagenet.csv, -imagenet-r.csv, -imagenet-r-clean.csv, -imagenet-a.csv, -imagenet-a-clean.csv,
    -sketch.csv, -imagenetv2-matched-frequency.csv from huggingface/pytorch-image-models' results/ folder.
    hendrycks-imagenet-c: the README.md of hendrycks/robustness (its ImageNet-C Leaderboard table).
    """
    from robench.fileio import atomic_write_text
    from robench.leaderboard.importers import IMPORTERS

    rows = IMPORTERS[source](paths, {"commit": commit})
    atomic_write_text(out, rows.to_csv(index=False, float_format="%.3f"))
    standard = int((rows["protocol"] == "").sum())
    click.echo(f"wrote {out} ({len(rows)} reported row(s), {standard} at the benchmark protocol)")
