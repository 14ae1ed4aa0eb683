"""Where the leaderboard's reported numbers come from, as blocks: reported.csv's citations and notes, each
import's repository, commit, files and licence, and (on the page only) every imported row's own notes."""
import re

from robench.leaderboard import tables
from robench.leaderboard.blocks import Bullets, Heading, PageOnly, Raw, Table


def sources_blocks(reported, imported=()):
    """Where reported numbers come from: reported.csv's citations and notes, each import's repository, commit,
    files and licence (its per-row notes, e.g. timm's image size and crop, are on the page: 1,500 model names
    are no markdown list)."""
    if not len(reported) and not imported:
        return [Raw("")]
    text = tables.markdown_text
    items = []
    for source, rows in reported.groupby("source", sort=True):
        cited = "; ".join(dict.fromkeys(text(c) for c in rows["citation"] if c))
        urls = " ".join(f"<{u}>" for u in dict.fromkeys(_safe_url(u) for u in rows["source_url"] if u) if u)
        subs = []
        for note, models in rows[rows["notes"] != ""].groupby("notes", sort=True)["model"]:
            who = "" if len(models) == len(rows) else f"{', '.join(text(m) for m in sorted(models))}: "
            subs.append(f"{who}{text(note)}")
        items.append((f"**{text(source)}**: " + " ".join(p for p in (cited, urls) if p), tuple(subs)))
    for source in imported:
        m, rows = source.manifest, source.rows
        cited = "; ".join(dict.fromkeys(text(c) for c in rows["citation"] if c))
        urls = " ".join(f"<{u}>" for u in dict.fromkeys(_safe_url(u) for u in rows["source_url"] if u) if u)
        files = ", ".join(f"`{text(f)}`" for f in m["files"])
        items.append((f"**{text(rows['source'].iat[0]) if len(rows) else text(source.name)}** (imported): "
                      + " ".join(p for p in (cited, urls) if p),
                      (f"{len(rows)} rows read by `robench leaderboard` from `imported/{text(source.name)}/` "
                       f"({files}), {text(IMPORT_HOW.get(m['importer'], 'copied unchanged from'))} "
                       f"{text(m['repository'])} at commit `{text(m['commit'])}`; licence {text(m['licence'])}"
                       + (f"; its text: `imported/{text(source.name)}/{text(m['licence_file'])}`"
                          if m.get("licence_file") else ""),
                       "each row's notes (for timm: its image size, crop_pct and interpolation) are in the "
                       "page's table of notes")))
    notes = [PageOnly((Heading(3, "Notes of imported rows"), Table(notes_grid(imported), name="notes")))] if imported else []
    return [Heading(2, "Sources of reported numbers"), Bullets(tuple(items)), *notes]


# how an import's files relate to the publisher's (default: "copied unchanged")
IMPORT_HOW = {"model-vs-human": "counts derived by robench (leaderboard-import model-vs-human --counts) from the "
                                "cue-conflict trial files of"}


def notes_grid(imported):
    """Model, Source, Notes of every imported row: the per-row provenance the page lists (not the markdown)."""
    rows = [[m, s, n] for source in imported for m, s, n in
            zip(source.rows["model"], source.rows["source"], source.rows["notes"])]
    return tables.Grid(["Model", "Source", "Notes"], [None, None, None], 3, rows)


def _safe_url(url):
    """A reported row's source URL as an autolink, only when it is a plain http(s) address."""
    url = str(url).strip()
    return url if re.fullmatch(r"https?://[^\s<>]+", url) else ""
