"""The documentation keeps its promises: README.md and docs/*.md link only to files and headings that
exist, their marked examples run and print what the page shows, and the commands they show parse.

Markers, an HTML comment on the line before a fenced block (invisible on GitHub):

- ``<!-- test: run -->``: a ``python`` block is executed, a ``bash`` block's ``robench`` lines are run
  through the real command line (in this process); the blocks of a page run in order, as one session,
  in a temp folder. ``/tmp/synth`` in a page is a folder of that temp folder: a page writes it with the
  command it shows (``robench data synth /tmp/synth``), the stand-in for the user's ImageNet val.
- ``<!-- test: output -->``: a ``text`` block must be exactly what the run block before it printed.
- ``<!-- test: parse -->``: each ``robench`` command of a ``bash`` block (also ``torchrun ... -m robench``)
  is parsed as the command line would parse it (commands, options and their types), not run.

The README's quick start is parsed whole, and its cheap commands (generate a small val, evaluate the
colour oracle on it, print the report) are run for real.
"""
import contextlib
import io
import re
import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from robench.cli import cli

REPO = Path(__file__).resolve().parent.parent
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
DATA = "/tmp/synth"  # the data folder the examples name; tests put it in a temp folder

FENCED = re.compile(r"^```.*?^```", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\]\(([^()\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
MARKED = re.compile(r"<!-- test: (\w+) -->[ \t]*\n```(\w*)\n(.*?)^```", re.M | re.S)
QUICK_START_RUN = (  # run for real (cheap: 50 generated images, the colour oracle); the rest is parsed
    "robench data synth /tmp/synth",
    "robench eval --model robench.models.oracle:colour_oracle --root /tmp/synth --out results",
    "robench report results",
)


def rel(path):
    return str(path.relative_to(REPO))


def prose(text):
    """The page without code (fenced blocks, inline code), where links are links."""
    return INLINE_CODE.sub("", FENCED.sub("", text))


def anchors(page):
    """GitHub's heading ids of a markdown page: lower case, punctuation dropped, spaces as hyphens."""
    text = FENCED.sub("", page.read_text(encoding="utf-8"))
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in HEADING.findall(text)}


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_relative_links_point_to_existing_files_and_headings(page):
    broken = []
    for target in LINK.findall(prose(page.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:: not checked (no network)
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target}: no file {linked}")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading #{anchor} in {rel(linked)}")
    assert not broken, f"{rel(page)}: " + "; ".join(broken)


def marked_blocks(page):
    """[(marker, language, code)] of a page, in order."""
    return MARKED.findall(page.read_text(encoding="utf-8"))


def command_lines(code):
    """The ``robench`` argument lists of a shell block (continuations joined, comments dropped; a
    ``torchrun ... -m robench ARGS`` line gives ARGS)."""
    out = []
    for line in code.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] == "robench":
            out.append(words[1:])
        elif "-m" in words and "robench" in words and words.index("robench") == words.index("-m") + 1:
            out.append(words[words.index("robench") + 1:])
    return out


def parse(args):
    """Parses ``robench ARGS`` as the command line would, without running the command: an unknown
    command or option, or a value its type refuses, raises a click error."""
    command, name, rest = cli, "robench", list(args)
    while isinstance(command, click.Group):
        assert rest and rest[0] in command.commands, f"robench {' '.join(args)}: no command {rest[:1]} in {name}"
        name, rest = rest[0], rest[1:]
        command = command.commands[name]
    command.make_context(name, rest)


def run_robench(args):
    """``robench ARGS`` through the real command line, in this process; returns what it printed."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, f"robench {' '.join(args)} exited {result.exit_code}:\n{result.output}"
    return result.output


RUN_PAGES = [p for p in PAGES if any(marker == "run" for marker, _, _ in marked_blocks(p))]


@pytest.mark.parametrize("page", RUN_PAGES, ids=rel)
def test_marked_examples_run_and_print_what_the_page_shows(page, tmp_path, monkeypatch):
    """The page's run blocks, in order, in a temp folder; each output block compared exactly."""
    monkeypatch.chdir(tmp_path)
    session, printed = {"__name__": "__main__"}, None
    for marker, language, code in marked_blocks(page):
        code = code.replace(DATA, str(tmp_path / "synth"))
        if marker == "run" and language == "python":
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(code, f"{rel(page)} example", "exec"), session)
            printed = out.getvalue()
        elif marker == "run" and language == "bash":
            printed = "".join(run_robench(args) for args in command_lines(code))
        elif marker == "output":
            assert printed is not None, f"{rel(page)}: an output block with no run block before it"
            assert printed.rstrip() == code.rstrip(), f"{rel(page)}: the example printed\n{printed}"
            printed = None


PARSE_PAGES = [p for p in PAGES if any(marker == "parse" for marker, _, _ in marked_blocks(p))]


@pytest.mark.parametrize("page", PARSE_PAGES, ids=rel)
def test_marked_commands_parse(page):
    commands = [args for marker, _, code in marked_blocks(page) if marker == "parse" for args in command_lines(code)]
    assert commands, f"{rel(page)}: parse blocks without robench commands"
    for args in commands:
        parse(args)


def quick_start():
    """The robench commands of the README's quick start, as written."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return command_lines(block)


def test_quick_start_commands_parse():
    commands = quick_start()
    assert len(commands) == 6
    for args in commands:
        parse(args)


def test_quick_start_cheap_commands_run(tmp_path, monkeypatch):
    """The oracle on a generated val (the stand-in for ImageNet) scores exactly 100% top-1, as the
    quick start promises, and the report shows it."""
    monkeypatch.chdir(tmp_path)
    written = [" ".join(["robench", *args]) for args in quick_start()]
    assert all(cmd in written for cmd in QUICK_START_RUN), f"the quick start changed: {written}"
    outputs = [run_robench(shlex.split(cmd.replace(DATA, str(tmp_path / "synth")))[1:]) for cmd in QUICK_START_RUN]
    assert "wrote 50 images in the imagenet layout" in outputs[0]
    assert (tmp_path / "results" / "colour_oracle" / "imagenet.json").is_file()
    row = next(line for line in outputs[2].splitlines() if line.startswith("colour_oracle"))
    assert row.split() == ["colour_oracle", "100.0"]
