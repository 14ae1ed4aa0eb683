"""``robench data c-bar VAL OUT``: ImageNet-C-bar made from your ImageNet val, as make_imagenet_c_bar.py makes it."""
import os

import click


@click.command("c-bar")
@click.argument("val", type=click.Path())
@click.argument("out", type=click.Path())
@click.option("--corruptions", help="Comma-separated ImageNet-C-bar corruptions (e.g. sparkles,plasma_noise); "
                                     "default: all 10, each at its 5 severities.")
@click.option("--workers", "-j", default=min(8, os.cpu_count() or 1), show_default=True, type=click.IntRange(0),
              help="Processes that corrupt images (0 or 1: this process).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def command(val, out, corruptions, workers, no_progress):
    """Corrupt the ImageNet val images under VAL (VAL/val/<wnid>/* or the val folder itself) into
    OUT/<corruption>/<parameter>/<wnid>/<name>.JPEG, the layout facebookresearch/augmentation-corruption's
    make_imagenet_c_bar.py writes (severity folders named by the imagenet_c_bar.csv parameter, e.g.
    caustic_refraction/2.35): resize 256, center crop 224, the corruption, PIL JPEG quality 85 optimize.
    Each image's random parameters come from robench's seed rule (image, corruption, severity): the
    script's own draws cannot be reproduced, a departure the marker records. Rerunning continues where
    a run stopped.

    `robench eval -s imagenet-c-bar -r OUT` evaluates them.
    """
    from robench.commands.common import parse_list
    from robench.datasets.c_bar_writer import materialise

    written, already = materialise(val, out, corruptions=parse_list(corruptions), workers=workers,
                                   progress=not no_progress)
    click.echo(f"wrote {written} images ({already} already there) in the ImageNet-C-bar layout under {out}; "
               f"evaluate them with: robench eval -s imagenet-c-bar -r {out}")
