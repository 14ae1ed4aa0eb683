"""``robench demo``: the main job on built-in generated data."""
import click


@click.command("demo")
@click.option("--out", default="demo-out", show_default=True, type=click.Path(), help="Where data and results go.")
@click.option("--workers", "-j", default=2, show_default=True, type=click.IntRange(0))
def command(out, workers):
    """Generate data in the real layouts, evaluate models on it, and write records."""
    from robench.demo import run_demo

    run_demo(out, workers)
