"""``robench list models|suites``."""
import click


@click.group("list")
def command():
    """List known models or suites."""


@command.command("models")
@click.argument("pattern", default="*")
@click.option("--source", type=click.Choice(["timm", "torchvision", "openclip"]), default="timm", show_default=True)
def models(pattern, source):
    """Model names matching PATTERN (wildcards), including robench's Robust-ResNets; with --source openclip,
    the open_clip ARCH/PRETRAINED tags (zero-shot models; PATTERN matches ARCH/PRETRAINED)."""
    import fnmatch

    if source == "openclip":
        from robench.models.openclip_source import pretrained_specs

        for spec in pretrained_specs(pattern):
            click.echo(spec)
        return
    if source == "timm":
        import timm

        import robench  # noqa: F401  (registers robust_resnet_* with timm)

        names = timm.list_models(pattern)
    else:
        import torchvision

        names = fnmatch.filter(torchvision.models.list_models(module=torchvision.models), pattern)
    for name in names:
        click.echo(name if source == "timm" else f"tv:{name}")


@command.command("suites")
def suites():
    """Benchmark suites (their layout and folder under a --data-dir) and the collections of suites."""
    from robench.commands.common import echo_table
    from robench.datasets import COLLECTIONS, get_suite, suite_names

    rows = []
    for name in suite_names():
        suite = get_suite(name)
        rows.append([name, f"{suite.folder}/", suite.layout, suite.description])
    echo_table(rows, ["suite", "--data-dir folder", "layout", "protocol"])
    click.echo("")
    rows = [[c.name, ", ".join(c.suite_names()) if c.suites is not None else "(every suite whose data is found)",
             c.description] for c in (COLLECTIONS.get(n) for n in COLLECTIONS.names())]
    echo_table(rows, ["collection", "suites", "what"])
