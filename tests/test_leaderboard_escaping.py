"""Text that comes from records and reported rows is shown as text in the leaderboard's markdown.

Model names in hand-built records (and sources in reported.csv) used to go into the tables raw: a newline
split a row, ``<script>`` and ``[x](javascript:...)`` passed through, and ``evil\\|x`` became ``evil\\\\|x``,
which ends the cell by GitHub's table rules. Each hostile name here must leave every table row with the
same number of cells as its header, and none of the active markup may survive.
"""
import json
import os
import re

import pytest

from robench.leaderboard import generate
from robench.leaderboard.tables import markdown_text

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "leaderboard")
HOSTILE = [
    "evil\\|x", "two\nlines", "cr\rreturn", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))", "a|b|c", "`code`", "**bold**", "tab\tname", "back\\slash", "&amp; <b>",
]


def cells(line):
    """The cells of one GFM table row: split on pipes that no backslash escapes (as GitHub does)."""
    body = line.strip()[1:-1]
    parts, current, i = [], "", 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            current += body[i:i + 2]
            i += 2
            continue
        if body[i] == "|":
            parts.append(current)
            current = ""
        else:
            current += body[i]
        i += 1
    return parts + [current]


def tables_in(markdown):
    """[[row lines]] of every pipe table in ``markdown``."""
    found, current = [], []
    for line in markdown.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            found.append(current)
            current = []
    return found + ([current] if current else [])


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_name_is_one_literal_cell(name):
    text = markdown_text(name)
    assert "\n" not in text and "\r" not in text
    assert "<" not in text and ">" not in text
    assert len(cells(f"| {text} | 1 |")) == 2
    assert not re.search(r"(?<!\\)\[[^\]]*(?<!\\)\]\(", text)  # no link syntax left unescaped


def test_hostile_model_names_keep_every_table_whole(tmp_path):
    with open(os.path.join(DATA, "entries", "resnet50.imagenet.json")) as f:
        template = json.load(f)
    entries = tmp_path / "entries"
    entries.mkdir()
    for i, name in enumerate(HOSTILE):
        record = json.loads(json.dumps(template))
        record["model"]["name"] = name
        record["model"]["spec"] = f"hostile-{i}"
        (entries / f"hostile-{i}.imagenet.json").write_text(json.dumps(record))
    reported = tmp_path / "reported.csv"
    reported.write_text("model,source,citation,source_url,notes,imagenet_top1\n"
                        '"<script>x</script>","evil\\|src","[c](javascript:1)","javascript:alert(1)","a\nb",50.0\n')
    board = generate(str(entries), str(reported), str(tmp_path / "README.md"))
    markdown = board.markdown
    assert "<script>" not in markdown and "<img" not in markdown
    assert not re.search(r"(?<!\\)\]\(javascript", markdown)  # link text is escaped: shown, not followed
    assert "<javascript:" not in markdown  # only http(s) source URLs become autolinks
    for table in tables_in(markdown):
        width = len(cells(table[0]))
        assert all(len(cells(row)) == width for row in table), table
    shown = [cells(row)[0].strip() for table in tables_in(markdown) for row in table[2:]]
    for name in HOSTILE:
        assert markdown_text(name) in shown, name
