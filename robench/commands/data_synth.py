"""``robench data synth OUT``: small generated data in the real on-disk layouts."""
import click


@click.command("synth")
@click.argument("out", type=click.Path())
@click.option("--suite", default="imagenet", show_default=True, help="Layout to write.")
@click.option("--classes", type=click.IntRange(1, 1000), help="Classes (default: the suite writer's, e.g. 10; 2 for imagenet-c).")
@click.option("--per-class", type=click.IntRange(1), help="Images per class (default: 5; 2 for imagenet-c).")
@click.option("--size", type=click.IntRange(8), help="Image side in pixels (default: 64; 224 for imagenet-c and stylized-imagenet, whose images are used without resize).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--train-per-class", default=0, type=click.IntRange(0),
              help="imagenet only: also write a train split, train/<wnid>/*.JPEG, with this many images per class.")
def command(out, suite, classes, per_class, size, seed, train_per_class):
    """Write a deterministic generated data set in SUITE's real layout under OUT."""
    from robench.datasets.synth import write_suite

    from robench.errors import RobenchError

    if train_per_class and suite != "imagenet":
        raise RobenchError("--train-per-class is for --suite imagenet (the train split of ImageNet)")
    given = {"n_classes": classes, "per_class": per_class, "size": size,
             "train_per_class": train_per_class or None}
    written = write_suite(suite, out, seed=seed, **{k: v for k, v in given.items() if v is not None})
    click.echo(f"wrote {written} images in the {suite} layout under {out}")
