"""``robench data check SUITE ROOT``: validate a data root's layout and compare its counts."""
import click


@click.command("check")
@click.argument("suite")
@click.argument("root", type=click.Path())
@click.option("--select", help="Comma-separated subset of variants (as for robench eval).")
@click.option("--verify", is_flag=True, help="For a shard set, also check every shard's sha256.")
@click.option("--strict", is_flag=True, help="Exit 1 when any count differs from the official size.")
def command(suite, root, select, verify, strict):
    """Check that ROOT is in SUITE's layout; print found vs expected images per variant.

    A broken layout is an error (exit 2). Counts that differ from the official sizes are reported
    (generated or partial data is smaller) and fail only with --strict (exit 1).
    """
    from robench.commands.common import echo_table, parse_list
    from robench.datasets import get_suite
    from robench.datasets.check import check_root

    rows = check_root(get_suite(suite), root, parse_list(select), verify=verify)
    table = [[r.variant, r.found, r.expected, _classes(r), "yes" if r.ok else "NO"] for r in rows]
    echo_table(table, ["variant", "found", "expected", "classes", "ok"])
    damaged = [r for r in rows if r.problem]
    for r in damaged:
        click.echo(f"{r.variant}: {r.problem}", err=True)
    if damaged:
        from robench.errors import DatasetLayoutError

        raise DatasetLayoutError(f"{len(damaged)} variant(s) under {root} have damaged or missing shards "
                                 "(listed above); rewrite them with robench data shard")
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
