"""``robench leaderboard-import SOURCE PATH...``: published results files -> reported rows (a CSV in reported.csv's shape)."""
import click

SOURCES = ["timm", "hendrycks-imagenet-c", "model-vs-human", "robustbench"]  # robench.leaderboard.importers.IMPORTERS


@click.command("leaderboard-import")
@click.argument("source", type=click.Choice(SOURCES))
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--commit", required=True, help="Commit of the publisher's repository the files come from "
                                               "(written into every row's source URL).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="CSV of reported rows to write.")
@click.option("--counts", type=click.Path(dir_okay=False), default=None,
              help="model-vs-human only: also write the per-file trial counts (with each file's SHA-256), the "
                   "table shipped under leaderboard/imported/model-vs-human/.")
def command(source, paths, commit, out, counts):
    """Turn a publisher's results files into reported rows with their source and protocol.

    timm: results-imagenet.csv, -imagenet-r.csv, -imagenet-r-clean.csv, -imagenet-a.csv, -imagenet-a-clean.csv,
    -sketch.csv, -imagenetv2-matched-frequency.csv from huggingface/pytorch-image-models' results/ folder.
    hendrycks-imagenet-c: the README.md of hendrycks/robustness (its ImageNet-C Leaderboard table).
    model-vs-human: a bethgelab/model-vs-human checkout (or its raw-data folder, or cue-conflict trial files):
    shape bias computed from the trials with robench's cue-conflict definition.
    robustbench: a RobustBench/robustbench checkout (or model_info/imagenet/corruptions, or its JSON files).
    """
    from robench.errors import RobenchError
    from robench.fileio import atomic_write_text
    from robench.leaderboard.importers import IMPORTERS

    if counts and source != "model-vs-human":
        raise RobenchError("--counts is for model-vs-human's trial files only")
    if counts:
        from robench.leaderboard.import_model_vs_human import write_counts

        write_counts(paths, counts)
    rows = IMPORTERS[source](paths, {"commit": commit})
    rows = rows.drop(columns=["attach_to"], errors="ignore")  # the leaderboard's own merge hint, not reported.csv's
    atomic_write_text(out, rows.to_csv(index=False, float_format="%.3f"))
    standard = int((rows["protocol"] == "").sum())
    click.echo(f"wrote {out} ({len(rows)} reported row(s), {standard} at the benchmark protocol)")
