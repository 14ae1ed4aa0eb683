"""``robench demo``: the whole mission on generated data, in about two minutes on a 2-core CPU.

Generated data stands in for ImageNet and its out-of-distribution sets (which cannot be downloaded
here): every image's mean colour encodes its class, so the colour oracle scores exactly 100% on clean
data and loses accuracy under corruption. The demo runs the commands a user types, and prints them:
generate every suite of the paper's table, train the tiny CNN, evaluate it beside the oracle and a
random model on the whole paper collection in one command, and build the leaderboard.
"""
import os
import shlex

import click

from robench.cli import cli

ORACLE = "robench.models.oracle:colour_oracle"


def robench(*args):
    """Runs one robench command as the CLI would, echoing it first."""
    click.secho("\n$ robench " + " ".join(shlex.quote(str(a)) for a in args), bold=True)
    cli.main(args=[str(a) for a in args], prog_name="robench", standalone_mode=False)


def run_demo(out, workers=2):
    data, results, run = (os.path.join(out, d) for d in ("data", "results", "train-run"))
    j = ["--workers", workers]
    # every suite of the paper's table, 4 classes (ImageNet-C: 19 corruptions x 5 severities of each) ...
    robench("data", "synth", data, "--suite", "paper", "--classes", 4, "--per-class", 1)
    # ... and ImageNet with a train split over 10 classes (the first 4 are the ones above)
    robench("data", "synth", f"{data}/imagenet", "--classes", 10, "--per-class", 10, "--train-per-class", 30)
    robench("data", "check", "imagenet-c", f"{data}/imagenet-c")
    robench("train", "--model", "test_robust_resnet", "--recipe", "demo", "--root", f"{data}/imagenet",
            "--out", run, *j, "--no-progress")
    models = ["--model", f"demo_cnn={run}/best.pth", "--model", ORACLE, "--model", "resnet18@random"]
    robench("eval", *models, "--suite", "paper", "--data-dir", data, "--out", results, *j)
    robench("leaderboard", "--entries", results, "--out", f"{out}/leaderboard/README.md")
    click.secho(f"\nDone. Records: {results}/<model>/<suite>.json; table again: robench report {results}; "
                f"leaderboard: {out}/leaderboard/README.md", bold=True)
