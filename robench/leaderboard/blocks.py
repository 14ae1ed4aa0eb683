"""The leaderboard as a list of blocks, rendered twice: to markdown (``markdown``) and to the HTML page
(``html_page.py``). One assembly (``render.generate``) decides what is said; the two renderers only
decide how, so the page and the README can never tell different stories.

Text in blocks is markdown inline syntax (backticks, ``**bold**``, ``[text](url)``, ``<url>``,
``[^footnote]``), with text from records and reported rows already escaped by ``tables.markdown_text``.
A table holds a ``tables.Grid`` (raw cell strings, escaped by each renderer); ``full`` is the grid the
page shows when the markdown shows fewer rows.
"""
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Raw:
    """Markdown written as it is (the generated-file mark); not on the page."""
    text: str


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str = ""  # the page's id for it (a section's slug)


@dataclass(frozen=True)
class Para:
    text: str
    page: Optional[str] = None  # the page's text instead (None: the same; "": not on the page)


@dataclass(frozen=True)
class Bullets:
    items: tuple  # (text, (sub-item text, ...))


@dataclass(frozen=True, eq=False)
class Table:
    grid: object  # tables.Grid shown in the markdown
    full: object = None  # tables.Grid the page shows instead (all rows), None: the same
    name: str = ""  # what the page's filter box says it filters, e.g. "models"
    anchor: str = ""  # the page's id for it


@dataclass(frozen=True)
class Details:
    summary: str
    blocks: tuple


@dataclass(frozen=True, eq=False)
class Image:
    figure: object  # render.Figure


@dataclass(frozen=True)
class PageOnly:
    """Blocks only the page shows (e.g. 1,500 rows of per-model notes)."""
    blocks: tuple


@dataclass(frozen=True)
class MarkdownOnly:
    """Blocks only the README shows (e.g. one line per section the page shows in full)."""
    blocks: tuple


@dataclass(frozen=True)
class Footnotes:
    notes: tuple  # (label, markdown text)


def markdown(blocks, plots_dir):
    """The README text of ``blocks``: each block's parts joined by one newline (a blank line between)."""
    from robench.leaderboard import tables

    parts = []
    for block in blocks:
        parts.extend(_parts(block, plots_dir, tables))
    return "\n".join(parts).rstrip("\n") + "\n"


def _parts(block, plots_dir, tables):
    if isinstance(block, Raw):
        return [block.text]
    if isinstance(block, Heading):
        return [f"{'#' * block.level} {block.text}\n"]
    if isinstance(block, Para):
        return [block.text + "\n"]
    if isinstance(block, Bullets):
        lines = []
        for text, subs in block.items:
            lines.append(f"- {text}")
            lines.extend(f"  - {sub}" for sub in subs)
        return ["\n".join(lines) + "\n"]
    if isinstance(block, Table):
        return [tables.grid_markdown(block.grid) + "\n"]
    if isinstance(block, Details):
        inner = [p for b in block.blocks for p in _parts(b, plots_dir, tables)]
        return [f"<details>\n<summary>{block.summary}</summary>\n", *inner, "</details>\n"]
    if isinstance(block, Image):
        return [f"![{block.figure.alt}]({plots_dir}/{block.figure.filename})\n"]
    if isinstance(block, PageOnly):
        return []
    if isinstance(block, MarkdownOnly):
        return [p for b in block.blocks for p in _parts(b, plots_dir, tables)]
    if isinstance(block, Footnotes):
        return ["\n".join(f"[^{label}]: {text}" for label, text in block.notes) + "\n"]
    raise TypeError(f"not a leaderboard block: {block!r}")
