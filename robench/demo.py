"""``robench demo``: the whole flow on generated data, in a few minutes on a CPU.

Generated data stands in for ImageNet (which cannot be downloaded here): every image's mean
colour encodes its class, so the colour oracle scores exactly 100% on clean data and loses
accuracy under corruption. The demo runs the same commands a user types, and prints them.
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


def write_demo_imagenet_c(path):
    """ImageNet-C cells (15 corruptions x 5 severities) of 4 of the demo's 10 classes, one image each."""
    from robench.datasets.corruptions import corruption_names
    from robench.datasets.synth import choose_classes, write_imagenet_c

    click.secho(f"\n# generated ImageNet-C (imagecorruptions on generated images) -> {path}", bold=True)
    n = write_imagenet_c(path, labels=choose_classes(10, 0)[:4], per_class=1, size=224,
                         corruptions=corruption_names("common"))
    click.echo(f"wrote {n} images in the imagenet-c layout under {path}")


def run_demo(out, workers=2):
    data, results, run = (os.path.join(out, d) for d in ("data", "results", "train-run"))
    j = ["--workers", workers]
    robench("data", "synth", f"{data}/imagenet", "--classes", 10, "--per-class", 10, "--train-per-class", 30)
    write_demo_imagenet_c(f"{data}/imagenet-c")
    robench("data", "check", "imagenet-c", f"{data}/imagenet-c")
    robench("train", "--model", "test_robust_resnet", "--recipe", "demo", "--root", f"{data}/imagenet",
            "--out", run, *j, "--no-progress")
    models = ["--model", f"demo_cnn={run}/best.pth", "--model", ORACLE, "--model", "resnet18@random"]
    for suite in ("imagenet", "imagenet-c"):
        robench("eval", *models, "--suite", suite, "--root", f"{data}/{suite}", "--out", results, *j)
    robench("leaderboard", "--entries", results, "--out", f"{out}/leaderboard/README.md")
    click.secho(f"\nDone. Records: {results}/<model>/<suite>.json; leaderboard: {out}/leaderboard/README.md",
                bold=True)
