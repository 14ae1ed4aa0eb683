"""``robench data corrupt VAL OUT``: ImageNet-C made from your ImageNet val, written as files."""
import os

import click


@click.command("corrupt")
@click.argument("val", type=click.Path())
@click.argument("out", type=click.Path())
@click.option("--select", help="Comma-separated cells, as for robench eval -s imagenet-c (e.g. fog,snow/3, "
                                "benchmark); default: all 19 corruptions x 5 severities.")
@click.option("--workers", "-j", default=min(8, os.cpu_count() or 1), show_default=True, type=click.IntRange(0),
              help="Processes that corrupt images (0 or 1: this process).")
@click.option("--lossless", is_flag=True, help="Write lossless PNG (the pixels before the release's JPEG step) "
                                               "instead of JPEG q85 as released: a departure, recorded as such.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def command(val, out, select, workers, lossless, no_progress):
    """Corrupt the ImageNet val images under VAL (VAL/val/<wnid>/* or the val folder itself) into
    OUT/<corruption>/<severity>/<wnid>/<name>.JPEG: the images `robench eval -s imagenet-c-gen -r VAL`
    makes on the fly (resize 256, center crop 224, ImageNet-C's corruptions, one seed per image, corruption
    and severity), saved as the release was (PIL JPEG quality 85, optimize); --lossless writes PNG.
    Rerunning continues where a run stopped.

    `robench eval -s imagenet-c -r OUT` then gives the same metrics as `-s imagenet-c-gen -r VAL`.
    """
    from robench.commands.common import parse_list
    from robench.datasets.corrupt_writer import materialise

    written, already = materialise(val, out, select=parse_list(select), workers=workers, progress=not no_progress,
                                   lossless=lossless)
    click.echo(f"wrote {written} images ({already} already there) in the ImageNet-C layout under {out}; "
               f"evaluate them with: robench eval -s imagenet-c -r {out}")
