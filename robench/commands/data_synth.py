"""``robench data synth OUT``: small generated data in the real on-disk layouts."""
import click


@click.command("synth")
@click.argument("out", type=click.Path())
@click.option("--suite", default="imagenet", show_default=True, help="Layout to write.")
@click.option("--classes", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--per-class", default=5, show_default=True, type=click.IntRange(1))
@click.option("--size", default=64, show_default=True, type=click.IntRange(8))
@click.option("--seed", default=0, show_default=True, type=int)
def command(out, suite, classes, per_class, size, seed):
    """Write a deterministic generated data set in SUITE's real layout under OUT."""
    from robench.datasets.synth import write_suite

    written = write_suite(suite, out, n_classes=classes, per_class=per_class, size=size, seed=seed)
    click.echo(f"wrote {written} images in the {suite} layout under {out}")
