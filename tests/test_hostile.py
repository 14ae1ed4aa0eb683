"""Hostile and unlucky inputs: each failure is one line naming the problem, no traceback, the right exit
code, and no good work lost. Data is generated in the real layouts (stand-ins for ImageNet)."""
import os

import pytest
import torch
from click.testing import CliRunner

from engine_support import ORACLE, load
from robench.cli import cli
from robench.models.oracle import ColourOracle


class NaNAfter(ColourOracle):
    """The oracle, until its ``bad_batch``-th batch: then some logits are NaN."""

    def __init__(self, bad_batch=3):
        super().__init__()
        self.calls, self.bad_batch = 0, bad_batch

    def forward(self, x):
        self.calls += 1
        out = super().forward(x)
        if self.calls >= self.bad_batch:
            out = out.clone()
            out[0, :3] = float("nan")
        return out


class RaisesOnThird(ColourOracle):
    calls = 0

    def forward(self, x):
        type(self).calls += 1
        if type(self).calls == 3:
            raise RuntimeError("CUDA out of memory (pretend)\nsecond line")
        return super().forward(x)


class ReturnsTuple(ColourOracle):
    def forward(self, x):
        return super().forward(x), None


class OneRowShort(ColourOracle):
    def forward(self, x):
        return super().forward(x)[:-1]


def nan_model():
    return NaNAfter()


def raising_model():
    RaisesOnThird.calls = 0
    return RaisesOnThird()


def tuple_model():
    return ReturnsTuple()


def short_model():
    return OneRowShort()


@pytest.fixture(scope="module")
def val(tmp_path_factory):
    from robench.datasets import synth

    root = tmp_path_factory.mktemp("val")
    synth.write_imagenet(str(root), n_classes=4, per_class=4, size=32)  # 16 images: 4 batches of 4
    synth.write_stylized(str(root / "stylized"), n_classes=2, per_class=2, size=32)
    return root


def run(*args):
    return CliRunner().invoke(cli, ["eval", *map(str, args), "-b", "4", "-j", "0", "--no-progress"])


@pytest.mark.parametrize("factory, words", [
    ("test_hostile:nan_model", "non-finite logits: 3 of 4000 values are NaN or infinite"),
    ("test_hostile:raising_model", "forward raised RuntimeError: CUDA out of memory (pretend) second line"),
    ("test_hostile:tuple_model", "forward returned a tuple, not a tensor of logits"),
    ("test_hostile:short_model", "logits of shape (3, 1000) for a batch of 4 images"),
])
def test_a_failing_model_is_named_and_the_others_finish(val, tmp_path, factory, words):
    out = tmp_path / "out"
    result = run("-m", f"bad={factory}", "-m", ORACLE, "-s", "imagenet,stylized-imagenet", "--root",
                 f"imagenet={val}", "--root", f"stylized-imagenet={val / 'stylized'}", "-o", out)
    assert result.exit_code == 1 and "Traceback" not in result.output
    (line,) = [line for line in result.output.splitlines() if line.startswith("error: model bad failed")]
    assert words in line and "imagenet/val, batch" in line and "records were not written" in line
    assert load(out / "colour_oracle" / "imagenet.json")["variants"][0]["metrics"]["top1"] == 100.0
    assert (out / "colour_oracle" / "stylized-imagenet.json").exists()
    assert not (out / "bad").exists() or not any(p.endswith(".json") for p in os.listdir(out / "bad"))
    cells = out / "bad" / ".cells" / "imagenet"
    assert not cells.exists() or not [p for p in os.listdir(cells) if ".partial-" not in p]


def test_a_failing_model_alone_fails_the_run_with_one_line(val, tmp_path):
    result = run("-m", "test_hostile:tuple_model", "-r", val, "-o", tmp_path)
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith("error: model tuple_model failed on imagenet/val, batch 1")


class NaNOnLastClass(ColourOracle):
    """NaN logits for the images of the highest class present: in a world of 2, only the last rank sees them."""

    def forward(self, x):
        out = super().forward(x).clone()
        decoded = out.argmax(dim=1)
        out[decoded == int(os.environ["ROBENCH_TEST_BAD_CLASS"])] = float("nan")
        return out


def nan_on_last_class():
    return NaNOnLastClass()


@pytest.mark.multiprocess
def test_a_failure_on_one_rank_leaves_the_model_out_on_every_rank(val, tmp_path):
    import subprocess

    from engine_support import env, robench_cmd
    from robench.datasets import get_suite

    (variant,) = get_suite("imagenet").variants(val)
    last = max(label for _, label in variant.source.entries)
    args = ["eval", "-m", "bad=test_hostile:nan_on_last_class", "-m", ORACLE, "-r", str(val), "-o", str(tmp_path),
            "-b", "4", "-j", "0", "--no-progress"]
    done = subprocess.run(robench_cmd(args, nproc=2), env=env(ROBENCH_TEST_BAD_CLASS=last), capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    assert "error: model bad failed on imagenet/val" in done.stderr and "non-finite logits" in done.stderr
    assert load(tmp_path / "colour_oracle" / "imagenet.json")["variants"][0]["n_seen"] == 16
    assert not (tmp_path / "bad" / "imagenet.json").exists()
