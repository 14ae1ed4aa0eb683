"""``robench data check SUITE ROOT``: validate a data root's layout and compare its counts."""
import click


@click.command("check")
@click.argument("suite")
@click.argument("root", type=click.Path())
@click.option("--select", help="Comma-separated subset of variants (as for robench eval).")
@click.option("--verify", is_flag=True, help="Read all the data once: a shard set's sha256 per shard, every "
                                              "archive member in full (cut short, CRC).")
@click.option("--labels", type=click.Path(), metavar="FILE",
              help="ImageNet val's label file when it is not beside the flat images (as for robench eval).")
@click.option("--strict", is_flag=True, help="Exit 1 when any count differs from the official size.")
def command(suite, root, select, verify, labels, strict):
    """Check that ROOT is in SUITE's layout; print found vs expected images per variant.

    A broken layout is an error (exit 2). Counts that differ from the official sizes are reported
    (generated or partial data is smaller) and fail only with --strict (exit 1).
    """
    from robench.commands.common import echo_table, parse_list
    from robench.datasets import get_suite
    from robench.datasets.check import check_root

    chosen = get_suite(suite)
    if labels:
        from robench.datasets.locate import give_label_file

        give_label_file([chosen], labels)
    rows = check_root(chosen, root, parse_list(select), verify=verify)
    table = [[r.variant, r.found, r.expected, _classes(r), "yes" if r.ok else "NO"] for r in rows]
    echo_table(table, ["variant", "found", "expected", "classes", "ok"])
    forms = {}
    for r in rows:
        forms.setdefault(r.held_as, []).append(r.variant)
    for form, names in forms.items():  # per variant when they differ (ImageNet-C's cells, one tar each)
        which = f" ({len(names)} variant(s): {', '.join(names[:3])}{' ...' if len(names) > 3 else ''})"
        click.echo(f"format: {form}{which if len(forms) > 1 else ''}")
    for line in getattr(chosen, "generation_lines", lambda root: [])(root):  # generated corruptions: who made the pixels
        click.echo(line)
    damaged = [r for r in rows if r.problem]
    for r in damaged:
        click.echo(f"{r.variant}: {r.problem}", err=True)
    if damaged:
        from robench.errors import DatasetLayoutError

        what = ("have damaged or missing shards (listed above); rewrite them with robench data shard"
                if any(r.held_as.startswith("robench-shards") for r in damaged)
                else "have damaged files (listed above); download them again")
        raise DatasetLayoutError(f"{len(damaged)} variant(s) under {root} {what}")
    differ = [r for r in rows if not r.ok]
    if differ:
        click.echo(f"{len(differ)} of {len(rows)} variant(s) differ from the official sizes "
                   "(expected for generated or partial data)")
        if strict:
            raise SystemExit(1)
    else:
        click.echo(f"layout ok: {len(rows)} variant(s), {sum(r.found for r in rows)} images, official sizes")


def _classes(row):
    if row.classes is None:
        return "?" if row.expected_classes is None else f"?/{row.expected_classes}"
    return f"{row.classes}/{row.expected_classes}" if row.expected_classes else str(row.classes)
