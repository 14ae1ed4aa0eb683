"""The README's summary of a source's many sections: timm evaluates models at 36 input sizes besides 224 px,
each a protocol (a section) of its own; the page shows them all, the README one line per section, so a
reader can take it in. A section with a measured or reported.csv row is never folded."""
from robench.leaderboard import tables
from robench.leaderboard.blocks import Heading, MarkdownOnly, Para, Table
from robench.leaderboard.protocol import STANDARD, describe, slug


def folded_sections(frame):
    """{protocol key: source} of the sections the README summarises instead of showing: sections other than
    the standard one that hold only imported rows of one source, when that source has several such sections
    (timm's 36 input sizes). A section with a measured or reported.csv row is always shown."""
    from robench.leaderboard.attach import primary_source

    by_source = {}
    for key in tables.sections(frame):
        rows = frame[frame["section"].map(lambda k, key=key: k == key)]
        sources = set(rows["source"].map(primary_source))
        if key != STANDARD and (rows["kind"] == 2).all() and len(sources) == 1:
            by_source.setdefault(sources.pop(), []).append(key)
    return {key: source for source, keys in by_source.items() if len(keys) > 1 for key in keys}


def fold_summary(source, keys, frame, page):
    """The README's stand-in for a source's folded sections: one line each (its protocol, its best row by
    ImageNet top-1, its row count, a link to the section on the page)."""
    name = source.removeprefix("reported: ")
    rows = []
    for key in keys:
        section = frame[frame["section"].map(lambda k, key=key: k == key)]
        clean = section["imagenet_top1"] if "imagenet_top1" in section.columns else None
        best = section.loc[clean.idxmax()] if clean is not None and clean.notna().any() else None
        rows.append([dict(key).get("reported") or describe(key), "–" if best is None else best["model"],
                     str(len(section)), "–" if best is None else f"{best['imagenet_top1']:.1f}",
                     f"[section]({page}#{slug(key)})"])
    grid = tables.Grid(["Section", "Best by ImageNet top-1", "Rows", "ImageNet ↑", "Page"],
                       [None, None, None, "imagenet_top1", None], 2, rows)
    total = sum(int(r[2]) for r in rows)
    return MarkdownOnly((
        Heading(2, f"Other protocols of {tables.markdown_text(name)}: {len(keys)} sections"),
        Para(f"{len(keys)} sections hold only the {total} rows imported from {tables.markdown_text(name)} under "
             f"protocols of their own (timm: the input size its validate.py used). [`{page}`]({page}) shows each "
             "in full; here, one line per section: its best row by ImageNet top-1 and its number of rows."),
        Table(grid)))
