"""Progress in logs: whole lines (one per variant, a few inside long ones), never carriage returns.

``robench eval`` runs in click's runner, whose stderr is not a terminal, as in CI or ``> log``."""
import io

import pytest
from click.testing import CliRunner

from robench.cli import cli
from robench.engine.progress_log import PREFIX, LineProgress, SilentProgress, make_progress, progress_mode
from robench.errors import RobenchError
from robench.results import read_record

from engine_support import ORACLE

VARIANTS = ["imagenet-v2/matched-frequency", "imagenet-v2/threshold0.7", "imagenet-v2/top-images"]


@pytest.fixture(scope="module")
def v2_root(tmp_path_factory):
    """ImageNet-V2's three variants, 3 classes x 2 images each."""
    from robench.datasets import get_suite

    root = tmp_path_factory.mktemp("imagenet-v2")
    get_suite("imagenet-v2").write_generated(str(root), labels=[2, 10, 100], per_class=2, size=32)
    return root


@pytest.fixture(autouse=True)
def no_user_settings(monkeypatch):
    monkeypatch.delenv("ROBENCH_PROGRESS", raising=False)
    monkeypatch.delenv("ROBENCH_PROGRESS_INTERVAL", raising=False)


def _eval(root, out, *extra, env=None, code=0):
    args = ["eval", "-m", ORACLE, "-s", "imagenet-v2", "-r", str(root), "-o", str(out), "-j", "0", "-b", "2", *extra]
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def _progress_lines(result):
    return [line for line in result.stderr.splitlines() if line.startswith(PREFIX)]


def test_one_line_per_variant_in_order_and_no_carriage_returns(v2_root, tmp_path):
    result = _eval(v2_root, tmp_path)
    assert "\r" not in result.output
    lines = _progress_lines(result)
    assert len(lines) == 3
    for k, (line, variant) in enumerate(zip(lines, VARIANTS)):
        assert line.startswith(f"{PREFIX} {variant}: 6/6 images done; all {6 * (k + 1)}/18 images, ")
        assert "img/s" in line and "elapsed " in line and "ETA " in line
    assert [v["name"] for v in read_record(tmp_path / "colour_oracle" / "imagenet-v2.json")["variants"]] == VARIANTS
    assert not any(line.startswith(PREFIX) for line in result.stdout.splitlines())  # the table stays clean

    again = _eval(v2_root, tmp_path)  # every cell reused: nothing to report
    assert _progress_lines(again) == [] and "\r" not in again.output


@pytest.mark.parametrize("how", ["--no-progress", "ROBENCH_PROGRESS=none"])
def test_no_progress_is_silent(v2_root, tmp_path, how):
    extra, env = ([how], None) if how.startswith("--") else ([], dict([how.split("=")]))
    result = _eval(v2_root, tmp_path, *extra, env=env)
    assert _progress_lines(result) == [] and "\r" not in result.output and "img/s" not in result.output
    assert "100.00" in result.stdout


def test_no_progress_wins_over_the_environment(v2_root, tmp_path):
    result = _eval(v2_root, tmp_path, "--no-progress", env={"ROBENCH_PROGRESS": "bar"})
    assert "\r" not in result.output and "img/s" not in result.output


def test_bar_can_be_asked_for(v2_root, tmp_path):
    result = _eval(v2_root, tmp_path, env={"ROBENCH_PROGRESS": "bar"})
    assert "\r" in result.stderr and "18/18" in result.stderr and _progress_lines(result) == []


def test_interval_gives_lines_inside_a_variant(v2_root, tmp_path):
    result = _eval(v2_root, tmp_path, "--select", "matched-frequency", env={"ROBENCH_PROGRESS_INTERVAL": "0"})
    lines = _progress_lines(result)
    assert [line.split(": ")[1].split(";")[0] for line in lines] == \
        ["2/6 images", "4/6 images", "6/6 images", "6/6 images done"]


@pytest.mark.parametrize("env, words", [({"ROBENCH_PROGRESS": "fancy"}, "ROBENCH_PROGRESS='fancy'"),
                                        ({"ROBENCH_PROGRESS_INTERVAL": "soon"}, "ROBENCH_PROGRESS_INTERVAL")])
def test_bad_settings_are_one_clear_line(v2_root, tmp_path, env, words):
    result = _eval(v2_root, tmp_path, env=env, code=2)
    assert words in result.output and "Traceback" not in result.output
    assert not (tmp_path / "colour_oracle" / "imagenet-v2.json").exists()


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_long_variant_lines_are_at_most_one_per_interval():
    clock, out = FakeClock(), io.StringIO()
    bar = LineProgress(200, {"a": 120, "b": 80}, world=4, interval=30, stream=out, clock=clock)
    bar.set_description("a")
    for _ in range(120):  # one image a second
        clock.now += 1
        bar.update(1)
    bar.set_description("b")
    bar.set_description("b")  # a second preprocessing group of the same variant: no line
    clock.now += 10
    bar.update(40)
    bar.close()
    bar.close()
    lines = out.getvalue().splitlines()
    assert [line.split(";")[0] for line in lines] == [
        f"{PREFIX} a: 30/120 images", f"{PREFIX} a: 60/120 images", f"{PREFIX} a: 90/120 images",
        f"{PREFIX} a: 120/120 images", f"{PREFIX} a: 120/120 images done", f"{PREFIX} b: 40/80 images stopped"]
    assert lines[0].endswith("all 30/200 images (rank 0 of 4), 1.0 img/s, elapsed 00:30, ETA 02:50")
    assert lines[-1].endswith("all 160/200 images (rank 0 of 4), 1.2 img/s, elapsed 02:10, ETA 00:32")


class Stream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


def test_mode_follows_the_terminal_unless_told(monkeypatch):
    assert progress_mode(Stream(True)) == "bar" and progress_mode(Stream(False)) == "lines"
    monkeypatch.setenv("ROBENCH_PROGRESS", "Lines")
    assert progress_mode(Stream(True)) == "lines"
    assert isinstance(make_progress(10, enabled=False, world=2), SilentProgress)  # ranks other than 0
    monkeypatch.setenv("ROBENCH_PROGRESS", "nope")
    with pytest.raises(RobenchError, match="bar, lines, none"):
        make_progress(10, enabled=False)
