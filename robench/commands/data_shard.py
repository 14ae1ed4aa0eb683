"""``robench data shard SUITE ROOT OUT``: pack a suite's folders into webdataset tar shards."""
import click


@click.command("shard")
@click.argument("suite")
@click.argument("root", type=click.Path())
@click.argument("out", type=click.Path())
@click.option("--shard-size", default=1000, show_default=True, type=click.IntRange(1),
              help="Images per tar shard.")
@click.option("--select", help="Comma-separated subset of variants (as for robench eval).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def command(suite, root, out, shard_size, select, no_progress):
    """Pack SUITE's images under ROOT into tar shards + manifest.json under OUT (bytes unchanged).

    `robench eval --root OUT` then reads the shards and writes the same record as from ROOT.
    """
    from robench.commands.common import parse_list
    from robench.datasets import get_suite
    from robench.datasets.shard_writer import write_shard_set
    from robench.datasets.shards import read_manifest

    path = write_shard_set(get_suite(suite), root, out, shard_size=shard_size, select=parse_list(select),
                           progress=not no_progress)
    manifest = read_manifest(out)
    n_shards = sum(len(v["shards"]) for v in manifest["variants"])
    n_images = sum(v["count"] for v in manifest["variants"])
    click.echo(f"wrote {n_images} images in {n_shards} shard(s), {len(manifest['variants'])} variant(s); "
               f"manifest {path}")
