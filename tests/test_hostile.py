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
    from robench.datasets import get_suite
    from robench.datasets.imagenet import write_imagenet

    root = tmp_path_factory.mktemp("val")
    write_imagenet(str(root), n_classes=4, per_class=4, size=32)  # 16 images: 4 batches of 4
    get_suite("stylized-imagenet").write_generated(str(root / "stylized"), n_classes=2, per_class=2, size=32)
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
    cells = out / "bad" / ".slices" / "imagenet"
    assert not cells.exists() or not [p for p in os.listdir(cells) if ".progress-" not in p]


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


def test_an_output_folder_that_cannot_be_written_is_found_before_any_work(val, tmp_path):
    a_file = tmp_path / "results"
    a_file.write_text("not a folder")
    result = run("-m", ORACLE, "-r", val, "-o", a_file)
    assert result.exit_code == 2 and result.output.strip() == f"Error: --out {a_file} is a file, not a folder; " \
                                                            "give a folder for the records"
    proc = run("-m", ORACLE, "-r", val, "-o", "/proc/robench-results")  # not writable even for root
    assert proc.exit_code == 2 and "cannot be written" in proc.output and "Traceback" not in proc.output


def test_a_full_disk_mid_run_is_one_line_and_finished_cells_are_kept(val, tmp_path, monkeypatch):
    """ENOSPC is raised by a patched os.replace for the record (a real full disk cannot be made here)."""
    import errno

    real = os.replace

    def replace(src, dst):
        if str(dst).endswith("imagenet.json") and ".slices" not in str(dst):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    result = run("-m", ORACLE, "-r", val, "-o", tmp_path)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "No space left on device" in result.output and "rerun the same command" in result.output
    assert (tmp_path / "colour_oracle" / ".slices" / "imagenet" / "imagenet__val.json").exists()
    monkeypatch.setattr(os, "replace", real)
    assert run("-m", ORACLE, "-r", val, "-o", tmp_path).exit_code == 0


def test_an_unreadable_file_is_named_and_counted_with_skip_bad_images(val, tmp_path, monkeypatch):
    """Root reads any file whatever its mode, so a patched open stands in for EACCES on one image."""
    import builtins

    from robench.datasets import get_suite

    (variant,) = get_suite("imagenet").variants(val)
    victim = os.path.join(str(val / "val"), variant.source.entries[5][0])
    real = builtins.open

    def guarded(path, *args, **kwargs):
        if str(path) == victim:
            raise PermissionError(13, "Permission denied")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)
    stopped = run("-m", ORACLE, "-r", val, "-o", tmp_path / "a")
    assert stopped.exit_code == 2 and "Traceback" not in stopped.output
    assert stopped.output.startswith(f"Error: cannot read {victim}") and "Permission denied" in stopped.output
    counted = run("-m", ORACLE, "-r", val, "-o", tmp_path / "b", "--skip-bad-images")
    assert counted.exit_code == 0, counted.output
    (v,) = load(tmp_path / "b" / "colour_oracle" / "imagenet.json")["variants"]
    assert v["n_seen"] == 15 and len(v["skipped"]) == 1 and "Permission denied" in v["skipped"][0][1]


@pytest.mark.parametrize("spec, words", [
    ("../x:f", "is not MODULE:FACTORY"), (".foo:bar", "is not MODULE:FACTORY"), (":x", "is not MODULE:FACTORY"),
    ("os:system", "'os:system()' for model spec 'os:system' raised TypeError"),
    ("os:sep", "is a str, not a function that builds a model"),
    ("..=robench.models.oracle:colour_oracle", "model name '..'"),
])
def test_odd_model_specs_are_one_line(val, tmp_path, spec, words):
    result = run("-m", spec, "-r", val, "-o", tmp_path)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert words in result.output and len(result.output.strip().splitlines()) == 1


def test_absurd_input_sizes_are_refused(val, tmp_path):
    result = run("-m", ORACLE, "-r", val, "-o", tmp_path, "--input-size", "100000")
    assert result.exit_code == 2 and "16<=x<=1024" in result.output


def test_batches_that_cannot_fit_in_memory_are_refused_before_any_image_is_decoded(val, tmp_path):
    """200,000 images of 1024 px per batch: 2.3 TiB per batch, more than any host has."""
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["eval", "-m", ORACLE, "-r", str(val), "-o", str(out), "--input-size", "1024",
                                      "-b", "200000", "-j", "2", "--threads", "1", "--no-progress"])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    (line,) = result.output.strip().splitlines()
    assert "the input batches alone would need" in line and "per batch of 200000 at 1024 px x 6 in flight: " \
        "2 workers x 2 prefetched + 1 forward pass(es) + 1" in line and "lower --batch-size" in line
    assert not list(out.rglob("*.json"))  # nothing was computed, so nothing was written


def test_the_batch_memory_estimate_counts_every_batch_in_flight(monkeypatch):
    from robench.engine.memory import MemoryEstimateError, batch_bytes, check_batch_memory, host_estimate

    assert batch_bytes(64, (3, 224, 224)) == 64 * 3 * 224 * 224 * 4 == batch_bytes(64, 224)
    # 8 workers x 2 prefetched + 4 threads + 1 = 21 batches; the largest input size of the run counts
    assert host_estimate(64, [(3, 160, 160), (3, 224, 224)], 8, 4) == 21 * batch_bytes(64, 224)
    need = host_estimate(64, [224], 8, 4)
    check_batch_memory(64, [224], 8, 4, device=torch.device("cpu"), available=need)  # fits exactly: fine
    with pytest.raises(MemoryEstimateError, match=r"more than the 0\.\d GiB available"):
        check_batch_memory(64, [224], 8, 4, device=torch.device("cpu"), available=need - 1)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "8")  # torchrun ranks on one host share its memory
    with pytest.raises(MemoryEstimateError, match="x 8 ranks on this host"):
        check_batch_memory(64, [224], 8, 4, device=torch.device("cpu"), available=need * 7)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -4000.0, 140.0])
def test_the_leaderboard_refuses_impossible_numbers(tmp_path, value):
    import json

    from robench.leaderboard import generate

    src = os.path.join(os.path.dirname(__file__), "data", "leaderboard", "entries", "resnet50.imagenet.json")
    record = load(src)
    record["variants"][0]["metrics"]["top1"] = value
    os.makedirs(tmp_path / "entries")
    (tmp_path / "entries" / "r.json").write_text(json.dumps(record))
    reported = os.path.join(os.path.dirname(__file__), "data", "leaderboard", "reported.csv")
    board = generate(str(tmp_path / "entries"), reported, str(tmp_path / "README.md"))
    assert len(board.problems) == 1 and "top1" in str(board.problems[0]) and "not a valid value" in str(board.problems[0])


def test_a_binary_reported_file_is_one_line(tmp_path):
    os.makedirs(tmp_path / "entries")
    (tmp_path / "reported.csv").write_bytes(bytes(range(256)) * 4)
    result = CliRunner().invoke(cli, ["leaderboard", "--entries", str(tmp_path / "entries"), "--reported",
                                      str(tmp_path / "reported.csv"), "--out", str(tmp_path / "README.md")])
    assert result.exit_code == 2 and "is not a text CSV file" in result.output and "Traceback" not in result.output


def _eval_to(val, out, *extra):
    result = run("-m", ORACLE, "-r", val, "-o", out, *extra)
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("edit, words", [
    (lambda c: c["state"].update(correct1=40.0), "correct1 40 <= correct5 16 <= n 16 does not hold"),
    (lambda c: c["state"].update(n=-4.0), "negative, NaN or infinite"),
    (lambda c: c.update(n_seen=1384), "do not match its slice"),
    (lambda c: c["state"].pop("nll_sum"), "holds metric fields"),
])
def test_resume_state_that_does_not_add_up_is_discarded_with_a_line(val, tmp_path, edit, words):
    import json

    _eval_to(val, tmp_path)
    cell = tmp_path / "colour_oracle" / ".slices" / "imagenet" / "imagenet__val.json"
    saved = load(cell)
    edit(saved)
    cell.write_text(json.dumps(saved))
    again = _eval_to(val, tmp_path)
    assert f"robench: discarded {cell}" in again.output and words in again.output
    (variant,) = load(tmp_path / "colour_oracle" / "imagenet.json")["variants"]
    assert variant["n_seen"] == 16 and variant["metrics"]["top1"] == 100.0  # recomputed, not trusted


def test_a_progress_file_outside_its_slice_is_discarded(val, tmp_path):
    import json

    from robench.engine import progress

    cell = tmp_path / "colour_oracle" / ".slices" / "imagenet" / "imagenet__val.json"
    os.makedirs(cell.parent)
    fake = progress.identity("h", "m", "f", (0, 16), 0, 1)
    path = str(cell)[: -len(".json")] + ".progress-0-of-1.json"
    with open(path, "w") as f:
        json.dump({**fake, "done": [[0, 40]], "state": {}, "skipped": [], "predictions": False}, f)
    assert progress.load(path, fake, False, "imagenet/val") is None


def test_an_image_replaced_in_place_is_new_data(val, tmp_path):
    import shutil

    root = tmp_path / "data"
    shutil.copytree(val, root)
    _eval_to(root, tmp_path / "out")
    first = sorted((root / "val").rglob("*.JPEG"))[0]
    other = sorted((root / "val").rglob("*.JPEG"))[-1]
    shutil.copy(other, first)  # same name, another class's colour: the oracle is now wrong on it
    os.utime(first, ns=(os.stat(first).st_atime_ns, os.stat(first).st_mtime_ns + 10**9))
    _eval_to(root, tmp_path / "out")
    (variant,) = load(tmp_path / "out" / "colour_oracle" / "imagenet.json")["variants"]
    assert variant["metrics"]["top1"] == 100.0 * 15 / 16


def _packed(val, tmp_path):
    from robench.datasets import get_suite
    from robench.datasets.shard_writer import write_shard_set

    out = tmp_path / "shards"
    write_shard_set(get_suite("imagenet"), val, out, shard_size=4)
    return out


@pytest.mark.parametrize("damage, words", [
    ("duplicate", "a shard is listed twice"),
    ("drop", "its shards hold 12 samples but it says 16"),
    ("swap", "do not match the sha256 in the manifest"),
])
def test_shard_sets_that_are_not_what_their_manifest_says_are_named(val, tmp_path, damage, words):
    import json
    import shutil

    out = _packed(val, tmp_path)
    manifest = load(out / "manifest.json")
    shards = manifest["variants"][0]["shards"]
    if damage == "duplicate":
        shards.append(dict(shards[0]))
        manifest["variants"][0]["count"] += shards[0]["count"]
    elif damage == "drop":
        shards.pop()
    else:  # another shard of the same size in its place: the counts and sizes agree, the bytes do not
        shutil.copy(out / shards[1]["url"], out / shards[0]["url"])
    (out / "manifest.json").write_text(json.dumps(manifest))
    result = run("-m", ORACLE, "-r", out, "-o", tmp_path / "o")
    assert result.exit_code == 2 and words in result.output and "Traceback" not in result.output


@pytest.mark.multiprocess
def test_a_stopped_rank_fails_the_others_with_one_line_after_the_timeout():
    """Two real gloo processes; rank 1 stops answering (sleeps past the timeout), rank 0 must not hang."""
    import socket
    import subprocess
    import sys

    from engine_support import env

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = ("import os, sys, time, torch\n"
            "from robench.engine.runtime import init_runtime\n"
            "from robench.engine.runtime import RankTimeout, leave_after_rank_timeout\n"
            "rt = init_runtime('cpu', timeout=8)\n"
            "rt.barrier()\n"  # both ranks are up (a slow start is not what this test is about)
            "if rt.rank == 1:\n"
            "    time.sleep(40); sys.exit(0)\n"
            "try:\n"
            "    rt.all_reduce_sum(torch.ones(3, dtype=torch.float64))\n"
            "except RankTimeout as e:\n"  # what robench's command line does with it
            "    leave_after_rank_timeout(e)\n")
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env(RANK=r, WORLD_SIZE=2, LOCAL_RANK=r,
                                                                      MASTER_ADDR="127.0.0.1", MASTER_PORT=port),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in (0, 1)]
    out, err = procs[0].communicate(timeout=120)
    procs[1].kill()
    procs[1].wait()
    assert procs[0].returncode == 2, out + err[-2000:]
    (line,) = [line for line in err.strip().splitlines() if line.startswith("Error: ")]
    assert line.startswith("Error: rank 0 of 2: summing metric states (all_reduce) failed waiting for the other ranks")
    assert "Finished slice results are kept" in line


class StallsOnRankOne(torch.nn.Module):
    """The colour oracle, except that on torchrun rank 1 its forward pass hangs (a stuck file system, a
    dead GPU): rank 0 finishes its slice and waits for rank 1 in the all-reduce."""

    def __init__(self):
        super().__init__()
        from robench.models.oracle import ColourOracle

        self.oracle = ColourOracle()

    def forward(self, x):
        if os.environ.get("RANK") == "1":
            import time

            time.sleep(120)
        return self.oracle(x)


def stalls_on_rank_one():
    return StallsOnRankOne()


@pytest.mark.multiprocess
def test_robench_eval_under_torchrun_with_a_stuck_rank_ends_with_one_line_and_exit_2(val, tmp_path):
    """What a user sees: rank 0 gives up after --dist-timeout with one line and exit code 2 (not a gloo
    abort, signal 6, which a normal interpreter exit after a timed-out collective gave)."""
    import subprocess

    from engine_support import env, robench_cmd

    args = ["eval", "-m", "stuck=test_hostile:stalls_on_rank_one", "-r", str(val), "-o", str(tmp_path / "o"),
            "-b", "4", "-j", "0", "--no-progress", "--dist-timeout", "6"]
    done = subprocess.run(robench_cmd(args, nproc=2), env=env(), capture_output=True, text=True, timeout=180)
    assert done.returncode != 0
    import re

    (line,) = [x for x in done.stderr.splitlines() if x.startswith("Error: rank 0 of 2: ")]
    assert "failed waiting for the other ranks" in line and "Finished slice results are kept" in line
    assert "terminate called" not in done.stderr  # torchrun's own traceback (ChildFailedError) comes after the line
    assert "Traceback" not in done.stderr.split("Error: rank 0 of 2: ")[0]
    # torchrun's report: rank 0 (the root cause) ended with code 2, rank 1 was stopped by torchrun
    assert re.search(r"rank\s*: 0 \(local_rank: 0\)\s*exitcode\s*: 2 ", done.stderr), done.stderr[-3000:]


def test_a_training_checkpoint_is_identified_by_its_weights_not_its_bytes(tmp_path):
    """A resumed run's checkpoint differs in epoch and optimizer state, not in weights: same model."""
    import timm

    import robench  # noqa: F401  (registers test_robust_resnet)
    from robench.models import load_model

    model = timm.create_model("test_robust_resnet")
    for epoch in (3, 6):
        torch.save({"arch": "test_robust_resnet", "model": model.state_dict(), "epoch": epoch,
                    "optimizer": {"step": epoch}}, tmp_path / f"e{epoch}.pth")
    a, b = (load_model(str(tmp_path / f"e{e}.pth")) for e in (3, 6))
    assert a.state_dict_sha256 == b.state_dict_sha256 and len(a.state_dict_sha256) == 64
    with torch.no_grad():
        next(model.parameters()).add_(1.0)
    torch.save({"arch": "test_robust_resnet", "model": model.state_dict()}, tmp_path / "other.pth")
    assert load_model(str(tmp_path / "other.pth")).state_dict_sha256 != a.state_dict_sha256


def test_resuming_from_garbage_or_another_architecture_is_one_line(tmp_path):
    import timm

    from robench.errors import RobenchError
    from robench.train import checkpoint as ckpts

    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"\x80\x04 not a checkpoint" * 50)
    with pytest.raises(RobenchError) as info:
        ckpts.read_checkpoint(str(garbage))
    assert len(str(info.value).splitlines()) == 1 and "garbage.pth" in str(info.value)
    other = {"arch": "resnet18", "model": timm.create_model("resnet18").state_dict()}
    with pytest.raises(RobenchError, match="holds a resnet18 model, not test_robust_resnet; resume with --model resnet18"):
        ckpts.restore(other, model=None, optimizer=None, scheduler=None, scaler=None, ema=None, rank=0, world=1,
                      arch="test_robust_resnet", path="latest.pth")


def test_progress_files_of_another_world_size_are_cleaned(val, tmp_path):
    cells = tmp_path / "colour_oracle" / ".slices" / "imagenet"
    os.makedirs(cells)
    for rank in (0, 1):  # what a world-2 run killed mid-variant leaves behind
        (cells / f"imagenet__val.progress-{rank}-of-2.json").write_text("{}")
    _eval_to(val, tmp_path)
    assert sorted(os.listdir(cells)) == ["imagenet__val.json"]


def test_verify_sees_an_image_rewritten_with_the_same_size_and_time(val, tmp_path):
    import shutil

    from robench.datasets import get_suite

    root = tmp_path / "data"
    shutil.copytree(val, root)
    _eval_to(root, tmp_path / "out", "--verify")
    cell = tmp_path / "out" / "colour_oracle" / ".slices" / "imagenet" / "imagenet__val.json"
    before, names_before = load(cell)["fingerprint"], get_suite("imagenet").variants(root)[0].source.fingerprint()
    first = sorted((root / "val").rglob("*.JPEG"))[0]
    stat = first.stat()
    data = bytearray(first.read_bytes())
    data[-3] ^= 0xFF  # same size, and the time restored below: only the content differs
    first.write_bytes(bytes(data))
    os.utime(first, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert get_suite("imagenet").variants(root)[0].source.fingerprint() == names_before  # cannot tell
    _eval_to(root, tmp_path / "out", "--verify")
    assert load(cell)["fingerprint"] != before  # the content fingerprint can: new data, recomputed
