"""`robench train --device xla` (torch_xla, PJRT on the CPU here): one process and torchrun with two,
the demo recipe on generated data, checkpoints, records, and a run killed after an epoch that
resumes to the same weights, bit for bit, as an uninterrupted run.

Runs only where torch_xla is installed (`make test-xla` runs it in `.venv-xla` with
ROBENCH_REQUIRE_XLA=1); elsewhere it is skipped by ``pytest.importorskip``, as tests/test_xla.py is.
Every run is a real `robench` process with the same environment (one thread), so XLA compiles the
same graphs for each and their float results can be compared exactly.
"""
import json
import os
import signal
import subprocess

import pytest

os.environ.setdefault("PJRT_DEVICE", "CPU")
if os.environ.get("ROBENCH_REQUIRE_XLA"):  # `make test-xla` sets it: there a missing torch_xla is a failure
    import torch_xla  # noqa: F401
else:
    pytest.importorskip("torch_xla")

import torch  # noqa: E402

from engine_support import env, kill_when, load, robench_cmd, run  # noqa: E402

pytestmark = pytest.mark.xla

MODEL = "test_robust_resnet"
N_CLASSES, TRAIN_PER_CLASS, VAL_PER_CLASS = 4, 8, 2  # 32 training images: 4 steps of 8 per epoch


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    from robench.datasets.imagenet import write_imagenet

    root = str(tmp_path_factory.mktemp("xla-train") / "data")
    write_imagenet(root, n_classes=N_CLASSES, per_class=VAL_PER_CLASS, size=64, train_per_class=TRAIN_PER_CLASS)
    return root


def train_args(root, out, *extra, batch=8):
    return ["train", "--model", MODEL, "--root", root, "--recipe", "demo", "--epochs", "2", "-b", str(batch),
            "-j", "0", "--no-progress", "--device", "xla", "--out", str(out), *extra]


def read_log(run_dir):
    with open(os.path.join(run_dir, "log.jsonl")) as f:
        return [json.loads(line) for line in f]


def checkpoint(run_dir):
    return torch.load(os.path.join(run_dir, "latest.pth"), map_location="cpu", weights_only=True)


def check_run(run_dir, world, validated=(0, 1)):
    """latest.pth (host tensors, 2 epochs) and the record of the final evaluation, run on XLA."""
    ckpt = checkpoint(run_dir)
    assert ckpt["epoch"] == 2 and ckpt["arch"] == MODEL
    assert ckpt["training"]["world_size"] == world and ckpt["training"]["optimizer_steps"] == 2 * 32 // 8
    assert {t.device.type for t in ckpt["model"].values()} == {"cpu"}
    assert ckpt["scaler"] == {}  # no grad scaler on XLA
    log = read_log(run_dir)
    assert [r["epoch"] for r in log] == [0, 1]
    assert [r["epoch"] for r in log if r.get("val_images") == N_CLASSES * VAL_PER_CLASS] == list(validated)
    assert all(len(set(r["weights_sha256"])) == 1 and len(r["weights_sha256"]) == world for r in log)
    record = load(os.path.join(run_dir, "results", f"{MODEL}-demo-2ep", "imagenet.json"))
    assert record["run"]["device"] == "xla" and record["run"]["world_size"] == world
    assert record["variants"][0]["n_seen"] == N_CLASSES * VAL_PER_CLASS
    assert record["variants"][0]["metrics"]["top1"] == log[-1]["val_top1"]
    assert record["model"]["training"]["epochs"] == 2 and record["model"]["training"]["paper_recipe"] is False
    return ckpt, log


@pytest.fixture(scope="module")
def whole(data_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("whole") / "run"
    run(train_args(data_root, out))
    return out


def test_one_xla_process_trains_checkpoints_and_writes_a_record(whole):
    ckpt, log = check_run(whole, world=1)
    assert log[0]["lr"] == 1e-5 and log[1]["lr"] == pytest.approx(2.55e-4)
    assert all(r["train_loss"] > 0 for r in log)


def test_two_xla_processes_under_torchrun(data_root, tmp_path):
    """Gradients are averaged over the ranks (gloo on host copies: PJRT's CPU client does not span
    processes), so both ranks hold the same weights after every epoch."""
    out = tmp_path / "run"
    run(train_args(data_root, out, "--eval-every", "0", batch=4), nproc=2, PJRT_DEVICE="CPU")
    check_run(out, world=2, validated=[1])


def test_killed_xla_run_resumes_to_the_same_weights(data_root, whole, tmp_path):
    """SIGKILL once epoch 1 is checkpointed, rerun the same command: the same weights, optimiser
    state and per-epoch digests as the uninterrupted run, exactly."""
    broken = tmp_path / "broken"
    args = train_args(data_root, broken, "--eval-suites", "", "--eval-every", "0")
    proc = subprocess.Popen(robench_cmd(args), env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    killed = kill_when(proc, (broken / "latest.pth").exists)  # epoch 1 is saved: kill it in epoch 2
    assert killed and proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-3000:]
    proc.stderr.close()
    assert checkpoint(broken)["epoch"] == 1  # killed between the two checkpoints

    run(args)
    a, b = checkpoint(whole), checkpoint(broken)
    assert b["epoch"] == 2 and b["training"]["optimizer_steps"] == a["training"]["optimizer_steps"]
    assert a["model"].keys() == b["model"].keys()
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    for i, state in a["optimizer"]["state"].items():
        for name, value in state.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(b["optimizer"]["state"][i][name])), (i, name)
    whole_log, broken_log = read_log(whole), read_log(broken)
    assert [r["weights_sha256"] for r in broken_log] == [r["weights_sha256"] for r in whole_log]
    assert [r["train_loss"] for r in broken_log] == [r["train_loss"] for r in whole_log]
    assert not (broken / "results").exists()  # --eval-suites "": no final evaluation asked for


def test_cutmix_on_xla_compiles_a_fixed_set_of_graphs():
    """timm's CutMix slices a new box every step, and slice bounds are graph constants: one new XLA
    compile per step (measured here: 8 compiles in 8 steps). StaticShapeMixup's box is data: after the
    first step of each branch (mixup, cutmix) nothing compiles again."""
    import numpy as np
    import torch_xla
    import torch_xla.debug.metrics as met
    from timm.data import Mixup

    from robench.train.static_mixup import StaticShapeMixup

    device = torch_xla.device()

    def compiles_per_step(cls, steps=8, **kw):
        np.random.seed(0)
        mixer = cls(num_classes=10, label_smoothing=0.1, **kw)
        images, labels = torch.rand(4, 3, 16, 16), torch.arange(4)
        counts = []
        for _ in range(steps):
            x, y = mixer(images.to(device), labels.to(device))
            (x.sum() + y.sum()).cpu()  # runs the step's graph
            data = met.metric_data("CompileTime")
            counts.append(data[0] if data else 0)
        return [b - a for a, b in zip([counts[0]] + counts, counts)]

    assert sum(compiles_per_step(Mixup, mixup_alpha=0.0, cutmix_alpha=1.0)[1:]) >= 5  # the problem, shown
    assert compiles_per_step(StaticShapeMixup, mixup_alpha=0.0, cutmix_alpha=1.0)[1:] == [0] * 7
    # mixup, cutmix and unmixed batches (prob 0.5) in one graph
    deit = compiles_per_step(StaticShapeMixup, mixup_alpha=0.8, cutmix_alpha=1.0, switch_prob=0.5, prob=0.5,
                             steps=12)
    assert deit[1:] == [0] * 11


def test_training_steps_settle_on_one_graph(data_root, tmp_path):
    """The DeiT recipe's moving parts (mixup/cutmix, label smoothing, drop path, EMA, a warm-up then
    cosine lr) on XLA: the epoch's steps compile in epoch 1 (the first step, which creates the optimizer
    state, and the steady step) and never again; log.jsonl counts the compiles of each epoch."""
    run_dir = tmp_path / "run"
    run(train_args(data_root, run_dir, "--set", "mixup=0.8", "--set", "cutmix=1.0", "--set", "drop_path=0.1",
                   "--set", "smoothing=0.1", "--ema", "--eval-every", "0"))
    compiles = [line["xla_compiles"] for line in read_log(run_dir)]
    assert len(compiles) == 2 and 1 <= compiles[0] <= 2 and compiles[1] == 0, compiles
