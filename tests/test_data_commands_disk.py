"""`robench data synth|shard|corrupt` onto a folder that cannot be written, or a full disk: one line, exit 2.

They used to end in tracebacks (eval's were already clean lines). The full disk is a real one: a 256 KiB
tmpfs mounted for the test (tests run as root, as CI does); the unwritable folder is under /sys, where even
root may not create anything.
"""
import os
import subprocess

import pytest
from click.testing import CliRunner

from robench.cli import cli
from robench.datasets import get_suite
from robench.datasets.imagenet import write_imagenet

UNWRITABLE = "/sys/robench-cannot-write/child"


@pytest.fixture
def full_disk(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.decode().strip()}): needs root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def one_line_error(result):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, OSError)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: cannot write"), result.output
    return lines[0]


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    root = tmp_path_factory.mktemp("disk-sources")
    write_imagenet(str(root / "imagenet"), n_classes=4, per_class=3, size=64)
    get_suite("imagenet-a").write_generated(str(root / "a"), n_classes=4, per_class=3, size=64)
    return root


def commands(sources, out):
    return {
        "synth": ["data", "synth", str(out), "--suite", "imagenet", "--classes", "20", "--per-class", "20"],
        "shard": ["data", "shard", "imagenet-a", str(sources / "a"), str(out), "--no-progress"],
        "corrupt": ["data", "corrupt", str(sources / "imagenet"), str(out), "--select", "fog/1", "-j", "0",
                    "--no-progress"],
    }


@pytest.mark.parametrize("name", ["synth", "shard", "corrupt"])
def test_an_unwritable_folder_is_one_line(sources, name):
    line = one_line_error(CliRunner().invoke(cli, commands(sources, UNWRITABLE)[name]))
    assert "/sys/robench-cannot-write" in line and "Operation not permitted" in line
    assert not os.path.exists("/sys/robench-cannot-write")


@pytest.mark.parametrize("name", ["synth", "shard", "corrupt"])
def test_a_full_disk_is_one_line(sources, full_disk, name):
    filler = full_disk / "filler"
    with open(filler, "wb") as f:  # leave a little room, so that the command starts and then fills it
        try:
            f.write(b"\0" * (256 * 1024 - 8 * 1024))
        except OSError:
            pass
    line = one_line_error(CliRunner().invoke(cli, commands(sources, full_disk / "out")[name]))
    assert "No space left on device" in line
