"""``robench data synth OUT``: small generated data in the real on-disk layouts."""
import os

import click


@click.command("synth")
@click.argument("out", type=click.Path())
@click.option("--suite", default="imagenet", show_default=True,
              help="Layout to write: a suite, or a collection (paper, all): each suite then goes to OUT/<its folder>, "
                   "the layout robench eval --data-dir OUT reads.")
@click.option("--classes", type=click.IntRange(1, 1000), help="Classes (default: the suite's writer's, e.g. 10).")
@click.option("--per-class", type=click.IntRange(1), help="Images per class (default: the suite's writer's, e.g. 5).")
@click.option("--size", type=click.IntRange(8), help="Image side in pixels (default: the suite's writer's: 64, or 224 for suites used without resize).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--train-per-class", default=0, type=click.IntRange(0),
              help="Also write a train split, train/<wnid>/*.JPEG, with this many images per class "
                   "(suites whose layout has one: imagenet).")
def command(out, suite, classes, per_class, size, seed, train_per_class):
    """Write a deterministic generated data set in SUITE's real layout under OUT."""
    from robench.datasets import COLLECTIONS, get_suite
    from robench.errors import RobenchError

    collection = COLLECTIONS.get(suite) if suite in COLLECTIONS else None
    names = collection.suite_names() if collection else [suite]
    suites = [get_suite(name) for name in names]
    if train_per_class and not any(s.generates_train_split for s in suites):
        raise RobenchError(f"--train-per-class is not for --suite {suite}: its generated layout has no train split")
    given = {"n_classes": classes, "per_class": per_class, "size": size}
    for s in suites:
        kwargs = {k: v for k, v in given.items() if v is not None}
        if train_per_class and s.generates_train_split:
            kwargs["train_per_class"] = train_per_class
        target = os.path.join(out, s.folder) if collection else out
        written = s.write_generated(target, seed=seed, **kwargs)
        click.echo(f"wrote {written} images in the {s.name} layout under {target}")
