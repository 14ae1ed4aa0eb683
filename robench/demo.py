"""``robench demo``: the whole flow on generated data, in a few minutes on a CPU.

Generated data stands in for ImageNet (which cannot be downloaded here): every image's mean
colour encodes its class, so the colour oracle scores exactly 100% on clean data and loses
accuracy under corruption, while a real CNN shows what the pipeline does with real models.
"""
import os

import click

from robench.engine import EvalOptions, evaluate
from robench.results import read_record

ORACLE = "robench.models.oracle:colour_oracle"


def step(text):
    click.secho(f"\n== {text}", bold=True)


def run_demo(out, workers=2):
    from robench.datasets.synth import write_suite

    data = os.path.join(out, "data")
    results = os.path.join(out, "results")
    options = EvalOptions(batch_size=32, workers=workers)
    step(f"1. generating clean ImageNet val in its real layout under {data}/imagenet")
    n = write_suite("imagenet", os.path.join(data, "imagenet"), n_classes=10, per_class=10, size=64, seed=0)
    click.echo(f"   {n} JPEG files in val/<wnid>/")
    step("2. evaluating the colour oracle and a randomly initialised ResNet-18")
    paths = evaluate([ORACLE, "resnet18@random"], "imagenet", os.path.join(data, "imagenet"), results,
                     options=options)
    for path in paths:
        record = read_record(path)
        top1 = record["variants"][0]["metrics"]["top1"]
        click.echo(f"   {record['model']['name']:<16} top-1 {top1:6.2f}%   -> {path}")
    return paths
