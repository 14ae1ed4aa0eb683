"""``robench list models|suites``."""
import click


@click.group("list")
def command():
    """List known models or suites."""


@command.command("models")
@click.argument("pattern", default="*")
@click.option("--source", default="timm", show_default=True,
              help="The model source to ask (timm, torchvision/tv, openclip, or a plug-in's).")
def models(pattern, source):
    """Model specs of a source matching PATTERN (wildcards): timm's names with robench's Robust-ResNets,
    tv:NAME for torchvision, openclip:ARCH/PRETRAINED for open_clip's tags (PATTERN matches
    ARCH/PRETRAINED), and whatever a plug-in source lists."""
    from robench.errors import RobenchError
    from robench.models.sources import ALIASES, MODEL_SOURCES, model_source

    name = ALIASES.get(source.lower(), source)
    if name not in MODEL_SOURCES:  # the registry's error: close names and the known ones
        name = next((n for n in MODEL_SOURCES.names() if n.lower() == name.lower()), name)
    listing = model_source(name).list_names
    if listing is None:
        raise RobenchError(f"model source '{name}' cannot list its models (it has no list_names); "
                           "its documentation says which specs it takes")
    for spec in listing(pattern):
        click.echo(spec)


@command.command("suites")
def suites():
    """Benchmark suites (their layout and folder under a --data-dir), the forms each reads its data in,
    and the collections of suites."""
    from robench.commands.common import echo_table
    from robench.datasets import COLLECTIONS, get_suite, suite_names

    rows, forms = [], []
    for name in suite_names():
        suite = get_suite(name)
        rows.append([name, f"{suite.folder}/", suite.layout, suite.description])
        forms.append((name, accepted_forms(suite)))
    echo_table(rows, ["suite", "--data-dir folder", "layout", "protocol"])
    click.echo("")
    click.echo("Accepted forms (each detected from what is at the suite's root; none needs extracting):")
    for name, lines in forms:
        click.echo(f"  {name}:")
        for line in lines:
            click.echo(f"    - {line}")
    click.echo("")
    rows = [[c.name, ", ".join(c.suite_names()) if c.suites is not None else "(every suite whose data is found)",
             c.description] for c in (COLLECTIONS.get(n) for n in COLLECTIONS.names())]
    echo_table(rows, ["collection", "suites", "what"])


def accepted_forms(suite):
    """The forms ``suite`` reads, one line each: its own (``Suite.accepted_forms``, else its layout), then
    robench's shard sets and the hosted forms it declares."""
    lines = list(suite.accepted_forms or (suite.layout,))
    lines.append("a robench shard set (manifest.json; robench data shard writes it)")
    if getattr(suite, "hosted", None) is not None:
        lines.append(suite.hosted.summary())
    return lines
