"""docs/plugins.md is a working package: its code blocks are written out as an installed distribution
and the page's own commands run on it.

Each python or toml block of the page starts with a comment naming its file. The blocks are written
into a folder with a ``.dist-info`` holding the entry points of the page's ``pyproject.toml``, which is
what ``pip install`` of the package leaves in site-packages (this stands in for that install: no
network or build backend here). With the folder on ``sys.path`` of child processes, Python's
entry-point machinery finds ``imagenet-blur``, ``brier`` and ``mylab``. Then every ``robench`` line of
the page's ``sh`` blocks runs as written (``/tmp/...`` and ``results`` moved under the test's folder),
and the records are checked for the exact numbers the page promises: top-1 100.0 for the colour oracle
on each blur strength, by its spec and through the plug-in source, and the oracle's Brier score.
"""
import json
import math
import os
import re
import shlex
import subprocess
import sys
import tomllib

import pytest

from engine_support import REPO, env

PAGE = os.path.join(REPO, "docs", "plugins.md")
pytestmark = [pytest.mark.slow, pytest.mark.multiprocess]


def blocks(language):
    """The page's code blocks in ``language``, in order."""
    with open(PAGE) as f:
        text = f.read()
    return [m.group(2) for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M) if m.group(1) == language]


def named_files():
    """{path: text} of the python and toml blocks, each named by its first line ``# path``."""
    files = {}
    for language in ("python", "toml"):
        for block in blocks(language):
            first = block.splitlines()[0]
            assert re.fullmatch(r"# [\w/.-]+\.(py|toml)", first), f"a {language} block names no file: {first!r}"
            files[first[2:]] = block
    return files


def install(files, site):
    """Writes the package and the .dist-info that ``pip install`` would, with the entry points of its
    pyproject.toml; returns the project's table."""
    project = tomllib.loads(files["pyproject.toml"])["project"]
    for path, text in files.items():
        if path.endswith(".py"):
            os.makedirs(os.path.join(site, os.path.dirname(path)), exist_ok=True)
            with open(os.path.join(site, path), "w") as f:
                f.write(text)
    dist_info = os.path.join(site, f"{project['name'].replace('-', '_')}-{project['version']}.dist-info")
    os.makedirs(dist_info)
    with open(os.path.join(dist_info, "METADATA"), "w") as f:
        f.write(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    with open(os.path.join(dist_info, "entry_points.txt"), "w") as f:
        for group, entries in project["entry-points"].items():
            f.write(f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in entries.items()) + "\n")
    return project


def commands(tmp_path):
    """argv of each ``robench`` line of the page's sh blocks, with its paths under ``tmp_path``."""
    out = []
    for block in blocks("sh"):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            assert words and words[0] == "robench", line
            out.append([str(tmp_path / w.lstrip("/")) if w.startswith("/tmp/") or w == "results" else w
                        for w in words[1:]])
    return out


def load(path):
    with open(path) as f:
        return json.load(f)


def test_the_plugin_page_is_a_working_package(tmp_path):
    site = tmp_path / "site-packages"
    project = install(named_files(), str(site))
    assert set(project["entry-points"]) == {"robench.suites", "robench.metrics", "robench.models"}
    child = env()
    child["PYTHONPATH"] = os.pathsep.join([str(site), child["PYTHONPATH"]])
    said = []  # (argv, stdout) of each command of the page
    for args in commands(tmp_path):
        result = subprocess.run([sys.executable, "-m", "robench", *args], env=child, cwd=tmp_path,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, " ".join(args) + "\n" + result.stdout + result.stderr
        said.append((args, result.stdout))

    def output(*words):  # what the page's command with these words printed
        (stdout,) = [out for args, out in said if all(w in args for w in words)]
        return stdout

    results = tmp_path / "results"

    # the suite: listed with its layout, 3 x 8 generated images, and the oracle reads every one
    assert "imagenet-blur/<strength 1-3>/<wnid>/*.png" in output("list", "suites")
    assert "wrote 24 images in the imagenet-blur layout" in output("synth", "imagenet-blur")
    assert all(f"imagenet-blur/{s}" in output("check", "imagenet-blur") for s in (1, 2, 3))
    for model in ("colour_oracle", "colour-reader"):  # by the oracle's spec, and through the plug-in source
        record = load(results / model / "imagenet-blur.json")
        assert record["suite"]["data_origin"] == "generated"
        assert [(v["name"], v["n_images"], v["metrics"]["top1"]) for v in record["variants"]] == [
            (f"imagenet-blur/{s}", 8, 100.0) for s in (1, 2, 3)]

    # the metric: in every record, with the oracle's exact Brier score on generated ImageNet
    record = load(results / "colour_oracle" / "imagenet.json")
    assert "brier" in record["metric_set"]["metrics"]
    (variant,) = record["variants"]
    p = math.exp(8) / (math.exp(8) + 999)
    assert variant["n_images"] == 8 and variant["metrics"]["top1"] == 100.0
    # float32 softmax: exact to its precision, whose last bits differ between CPUs (1e-7 apart here)
    assert variant["metrics"]["brier"] == pytest.approx((1 - p) ** 2 + 999 * ((1 - p) / 999) ** 2, rel=1e-5)
    assert "brier" in load(results / "colour-reader" / "imagenet-blur.json")["variants"][0]["metrics"]

    # the model source: lists its spec, and the record says where the model came from
    assert output("list", "models").split() == ["mylab:colour-reader"]
    assert load(results / "colour-reader" / "imagenet-blur.json")["model"]["spec"] == "mylab:colour-reader"

    # the leaderboard gives the plug-in suite its columns and the metric its column
    board = tmp_path / "board" / "README.md"
    result = subprocess.run([sys.executable, "-m", "robench", "leaderboard", "--entries", str(results),
                             "--out", str(board)], env=child, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    text = board.read_text()
    assert all(f"Blur {s}" in text for s in (1, 2, 3)) and "Brier" in text
