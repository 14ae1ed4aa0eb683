"""Option parsing shared by several commands."""
import click

from robench.errors import RobenchError


def parse_task(text):
    """'i/N' -> (i, N) with 0 <= i < N."""
    if text is None:
        return None
    try:
        i, n = (int(p) for p in text.split("/"))
    except ValueError:
        raise RobenchError(f"--task '{text}' is not of the form i/N (e.g. 0/4)") from None
    if n < 1 or not 0 <= i < n:
        raise RobenchError(f"--task {text}: need N >= 1 and 0 <= i < N")
    return i, n


def parse_list(text):
    return [p.strip() for p in text.split(",") if p.strip()] if text else None


def echo_table(rows, headers):
    from tabulate import tabulate

    click.echo(tabulate(rows, headers=headers, floatfmt=".2f"))
