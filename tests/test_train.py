"""robench train: the paper's preset, a real training step, kill + resume, and 2-process DDP on CPU.

Data is generated in the real layouts (JPEG wnid folders; the DDP run reads train/ from real tar
shards) and the model is the toy ``test_robust_resnet`` at 64 px, so each run takes seconds.
"""
import json
import math
import os
import signal
import subprocess
import sys

import pytest
import torch

from engine_support import kill_when, torch_threads
from robench.train import TrainConfig, get_recipe, train

pytestmark = pytest.mark.slow

MODEL = "test_robust_resnet"
N_CLASSES, TRAIN_PER_CLASS, VAL_PER_CLASS = 10, 8, 3


def _env():
    return {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One intra-op thread here and in the subprocesses: the same float sums in every run (bitwise
    resume check) and no spinning OpenMP threads on a shared 2-core machine."""
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    """ROOT/train/<wnid>/*.JPEG (10 x 8) and ROOT/val/<wnid>/*.JPEG (10 x 3)."""
    from robench.datasets.colour_code import choose_classes, write_class_folders

    root = tmp_path_factory.mktemp("train-data")
    labels = choose_classes(N_CLASSES, seed=0)
    write_class_folders(str(root / "train"), labels, TRAIN_PER_CLASS, seed=1, size=64, name_prefix="train")
    write_class_folders(str(root / "val"), labels, VAL_PER_CLASS, seed=2, size=64)
    return root


def read_log(run_dir):
    with open(run_dir / "log.jsonl") as f:
        return [json.loads(line) for line in f]


def test_paper_preset_is_the_papers_recipe():
    r = get_recipe("deit-300ep")
    assert (r.epochs, r.global_batch, r.lr_base, r.lr_base_size, r.peak_lr()) == (300, 1024, 5e-4, 512, 1e-3)
    assert (r.opt, r.opt_eps, r.weight_decay) == ("adamw", 1e-8, 0.05)
    assert (r.sched, r.warmup_epochs, r.warmup_lr, r.min_lr, r.cooldown_epochs) == ("cosine", 5, 1e-6, 1e-5, 0)
    assert (r.auto_augment, r.reprob, r.remode, r.recount) == ("rand-m9-mstd0.5-inc1", 0.25, "pixel", 1)
    assert (r.mixup, r.cutmix, r.mixup_prob, r.mixup_switch_prob, r.mixup_mode) == (0.8, 1.0, 1.0, 0.5, "batch")
    assert (r.smoothing, r.repeated_aug, r.drop_path) == (0.1, 3, 0.1)
    assert (r.train_interpolation, r.scale, r.hflip, r.input_size) == ("bicubic", (0.08, 1.0), 0.5, 224)
    assert (r.precision, r.clip_grad, r.ema) == ("fp32", None, False)


def test_recipes_are_a_registry():
    import dataclasses

    from robench.errors import RobenchError
    from robench.registry import RegistryError
    from robench.train import PAPER, RECIPES, find_recipe, recipe_names
    from robench.train.recipes import training_info, with_overrides

    assert {"deit-300ep", "demo"} <= set(recipe_names()) and recipe_names() == sorted(RECIPES.names())
    with pytest.raises(RobenchError, match="unknown recipe 'deit-300'. Did you mean deit-300ep"):
        get_recipe("deit-300")
    assert find_recipe("mine") is None and find_recipe("demo") is get_recipe("demo")
    with pytest.raises(RegistryError, match="recipe 'demo' is already registered"):
        RECIPES.register("demo", get_recipe(PAPER))
    mine = with_overrides(get_recipe("demo"), {"epochs": "2"})
    assert training_info(mine, 2)["overrides"] == {"epochs": [6, 2]}
    assert training_info(dataclasses.replace(mine, name="mine"), 2)["overrides"] is None


def test_paper_preset_builds_the_timm_parts_it_names():
    """The preset wired to timm: decay groups, AdamW eps, the per-epoch schedule, mixup, the transform."""
    from timm.data.auto_augment import RandAugment
    from timm.data.random_erasing import RandomErasing
    from timm.loss import SoftTargetCrossEntropy

    from robench.engine.runtime import Runtime
    from robench.train.data import train_transform
    from robench.train.main import build_model, build_parts

    recipe = get_recipe("deit-300ep")
    net, kwargs = build_model(MODEL, recipe, seed=0)
    assert kwargs == {"pretrained_cfg_overlay": {"input_size": (3, 224, 224)}}
    from timm.layers import DropPath

    assert max(m.drop_prob for m in net.modules() if isinstance(m, DropPath)) == pytest.approx(0.1)
    parts, scheduler, total = build_parts(net, recipe, TrainConfig(MODEL, "", ""), Runtime(torch.device("cpu")))
    assert total == 300 and isinstance(parts.optimizer, torch.optim.AdamW)
    decay = {g["weight_decay"]: sum(p.numel() for p in g["params"]) for g in parts.optimizer.param_groups}
    one_d = sum(p.numel() for p in net.parameters() if p.ndim <= 1)
    assert decay == {0.0: one_d, 0.05: sum(p.numel() for p in net.parameters()) - one_d}
    assert {g["eps"] for g in parts.optimizer.param_groups} == {1e-8}
    peak, low = 1e-3, 1e-5
    cosine = [low + 0.5 * (peak - low) * (1 + math.cos(math.pi * t / 300)) for t in range(300)]
    expected = [1e-6 + t * (peak - 1e-6) / 5 for t in range(5)] + cosine[5:]
    assert scheduler._get_lr(0)[0] == pytest.approx(1e-6, rel=1e-12)
    assert [scheduler._get_lr(t)[0] for t in range(300)] == pytest.approx(expected, rel=1e-12)
    m = parts.mixup
    assert (m.mixup_alpha, m.cutmix_alpha, m.mix_prob, m.switch_prob, m.mode, m.label_smoothing) == \
        (0.8, 1.0, 1.0, 0.5, "batch", 0.1)
    assert isinstance(parts.loss_fn, SoftTargetCrossEntropy) and parts.ema is None
    steps = train_transform(recipe, {"mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)}).transforms
    crop = steps[0]
    assert (crop.size, crop.scale, str(crop.interpolation)) == ((224, 224), (0.08, 1.0), "InterpolationMode.BICUBIC")
    assert steps[1].p == 0.5
    randaug = next(t for t in steps if isinstance(t, RandAugment))
    assert randaug.num_layers == 2 and {op.magnitude for op in randaug.ops} == {9}
    assert {op.magnitude_std for op in randaug.ops} == {0.5}
    erasing = next(t for t in steps if isinstance(t, RandomErasing))
    assert (erasing.probability, erasing.mode, erasing.max_count) == (0.25, "pixel", 1)


def test_randaugment_posterize_of_zero_bits_gives_a_black_image():
    """rand-m9-mstd0.5-inc1 asks for posterize(bits=0) at magnitude 10; old Pillow gave black, new raises."""
    import numpy as np
    from PIL import Image
    from timm.data.auto_augment import AugmentOp

    from robench.train.compat import patch_posterize, pillow_rejects_zero_bits

    patch_posterize()
    image = Image.new("RGB", (4, 4), (200, 100, 50))
    assert np.asarray(AugmentOp("PosterizeIncreasing", prob=1.0, magnitude=10)(image)).max() == 0
    assert np.asarray(AugmentOp("PosterizeIncreasing", prob=1.0, magnitude=5)(image))[0, 0].tolist() == [192, 64, 0]
    assert isinstance(pillow_rejects_zero_bits(), bool)


def test_loss_goes_down_on_a_fixed_batch(data_root):
    from torch.utils.data import default_collate

    from robench.engine.runtime import Runtime
    from robench.train.data import TrainDataset, train_source, train_transform
    from robench.train.loop import train_step
    from robench.train.main import build_model, build_parts

    recipe = get_recipe("demo")
    net, _ = build_model(MODEL, recipe, seed=0)
    parts, scheduler, _ = build_parts(net, recipe, TrainConfig(MODEL, "", ""), Runtime(torch.device("cpu")))
    scheduler.step(1)  # the peak lr (epoch 0 is the warm-up start)
    dataset = TrainDataset(train_source(data_root), train_transform(recipe, net.pretrained_cfg))
    torch.manual_seed(0)
    images, labels = default_collate([dataset[i] for i in range(0, len(dataset), 4)])
    assert len(labels.unique()) == N_CLASSES
    losses = [train_step(parts, images, labels).item() for _ in range(25)]
    assert losses[-1] < 0.5 * losses[0], losses


def test_train_shards_read_the_same_samples_as_the_folders(data_root, tmp_path):
    from robench.datasets.base import FolderSource
    from robench.train.data import pack_train_split, train_source

    folders = train_source(data_root)
    assert isinstance(folders, FolderSource)  # the evaluation's own folder reader
    pack_train_split(data_root / "train", tmp_path / "train", shard_size=7)
    packed = train_source(tmp_path)
    assert len(packed.paths) == math.ceil(N_CLASSES * TRAIN_PER_CLASS / 7)
    assert len(packed) == len(folders) == N_CLASSES * TRAIN_PER_CLASS
    assert packed.fingerprint() == folders.fingerprint()
    for i in reversed(range(len(folders))):  # random access, not a stream
        assert packed.read(i) == folders.read(i)


def test_cli_user_errors_are_one_line(data_root, tmp_path):
    from click.testing import CliRunner

    from robench.cli import cli

    base = ["train", "--model", MODEL, "--root", str(data_root), "--recipe", "demo", "--out", str(tmp_path / "r")]
    (tmp_path / "no-val").mkdir()
    os.symlink(data_root / "train", tmp_path / "no-val" / "train")
    cases = [(["--set", "mixpu=0"], "recipe has no field 'mixpu'. Did you mean mixup"),
             (["--root", str(tmp_path)], "has no train/ folder"),
             (["--root", str(tmp_path / "no-val")], "has no val/ folder"),
             (["--model", "test_robust_resnt"], "Did you mean test_robust_resnet"),
             (["--eval-suites", "imagenet-c"], "add --eval-roots imagenet-c=PATH"),
             (["-b", "3", "--set", "mixup=0.8"], "even per-device batch")]
    for extra, message in cases:
        result = CliRunner().invoke(cli, base + extra)
        assert result.exit_code == 2 and message in result.output, (extra, result.output)
        assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "r" / "latest.pth").exists()


def _config(root, out, **kw):
    return TrainConfig(model=MODEL, root=str(root), out=str(out), recipe="demo", overrides={"epochs": 3},
                       batch_size=16, workers=0, progress=False, **kw)


def test_killed_run_resumes_where_it_stopped(data_root, tmp_path):
    """SIGKILL mid-run, then resume: same lr per epoch, same losses and weights as an unbroken run."""
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    paths = train(_config(data_root, whole))
    cmd = [sys.executable, "-m", "robench", "train", "--model", MODEL, "--root", str(data_root), "--recipe", "demo",
           "--out", str(broken), "--epochs", "3", "-b", "16", "-j", "0", "--no-progress"]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    killed = kill_when(proc, (broken / "latest.pth").exists, timeout=60)  # epoch 0 is saved: kill it in epoch 1
    assert killed and proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    saved = torch.load(broken / "latest.pth", weights_only=True)["epoch"]
    assert 1 <= saved < 3 and len(read_log(broken)) >= saved

    train(_config(data_root, broken, eval_suites=()))
    a, b = read_log(whole), read_log(broken)
    assert [r["epoch"] for r in b] == [0, 1, 2]
    assert [r["lr"] for r in b] == [r["lr"] for r in a]
    assert a[0]["lr"] == 1e-5 and a[1]["lr"] == pytest.approx(1e-3 * 0.5 * (1 + math.cos(math.pi / 3)) + 1e-5 * 0.5
                                                               * (1 - math.cos(math.pi / 3)), rel=1e-12)
    assert [r["train_loss"] for r in b] == pytest.approx([r["train_loss"] for r in a], rel=1e-5)
    assert [r["weights_sha256"] for r in b] == [r["weights_sha256"] for r in a]

    record = json.loads(open(paths[0]).read())
    assert paths[0] == str(whole / "results" / f"{MODEL}-demo-3ep" / "imagenet.json")
    assert record["model"]["training"] == {
        "recipe": "demo", "epochs": 3, "epochs_planned": 3, "paper_recipe": False,
        "overrides": {"epochs": [6, 3], "global_batch": [32, 16]}, "global_batch": 16, "peak_lr": 1e-3,
        "world_size": 1, "repeated_aug": {"repeats": 1, "regime": "off"}}
    assert record["variants"][0]["n_seen"] == N_CLASSES * VAL_PER_CLASS
    assert record["variants"][0]["metrics"]["top1"] == a[-1]["val_top1"]
    ckpt = torch.load(whole / "best.pth", weights_only=True)
    assert {"model", "optimizer", "scheduler", "scaler", "rng", "arch", "model_kwargs"} <= set(ckpt)

    from robench.errors import RobenchError

    with pytest.raises(RobenchError, match=r"different recipe \(epochs 3 -> 4\)"):
        train(TrainConfig(MODEL, str(data_root), str(whole), recipe="demo", overrides={"epochs": 4},
                          batch_size=16, workers=0, progress=False))


def test_two_process_ddp_from_shards_agrees_across_ranks(data_root, tmp_path):
    """torchrun, 2 CPU processes (gloo), train/ as tar shards, the paper's augmentations and EMA on."""
    from robench.engine import EvalOptions, evaluate_suite
    from robench.models import load_model

    from robench.train.data import pack_train_split

    root = tmp_path / "root"
    pack_train_split(data_root / "train", root / "train", shard_size=32)
    os.symlink(data_root / "val", root / "val")
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "robench",
           "train", "--model", MODEL, "--root", str(root), "--recipe", "demo", "--out", str(out), "--epochs", "2",
           "-b", "8", "-j", "1", "--no-progress", "--ema", "--name", "ddp"]
    for setting in ("repeated_aug=3", "mixup=0.8", "cutmix=1.0", "reprob=0.25", "auto_augment=rand-m9-mstd0.5-inc1"):
        cmd += ["--set", setting]
    done = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    log = read_log(out)
    assert [r["epoch"] for r in log] == [0, 1]
    for line in log:
        assert len(line["weights_sha256"]) == 2 and len(set(line["weights_sha256"])) == 1
        assert line["val_images"] == line["ema_val_images"] == N_CLASSES * VAL_PER_CLASS
    # 80 images, x3 repeats, each rank takes 80 / 2 = 40 an epoch: 5 steps of 2 x 8
    assert [r["images"] for r in log] == [80, 80]
    recipe = json.loads((out / "recipe.json").read_text())
    assert (recipe["global_batch"], recipe["repeated_aug"], recipe["mixup"]) == (16, 3, 0.8)
    peak = 3.2e-2 * 16 / 512
    assert log[1]["lr"] == pytest.approx(1e-5 + 0.5 * (peak - 1e-5) * (1 + math.cos(math.pi / 2)), rel=1e-12)
    record = json.loads((out / "results" / "ddp" / "imagenet.json").read_text())
    assert record["run"]["world_size"] == 2 and record["variants"][0]["n_seen"] == N_CLASSES * VAL_PER_CLASS
    assert record["model"]["training"]["paper_recipe"] is False
    assert record["model"]["training"]["epochs"] == 2
    # The same checkpoint evaluated in one process gives the same exact counts as the 2-rank evaluation.
    single = evaluate_suite([load_model(str(out / "latest.pth"))], "imagenet", str(root), str(tmp_path / "eval"),
                      options=EvalOptions(batch_size=8, workers=0, device="cpu", progress=False))
    again = json.loads(open(single[0]).read())["variants"][0]
    assert (again["n_seen"], again["metrics"]["top1"], again["metrics"]["top5"]) == \
        (N_CLASSES * VAL_PER_CLASS, record["variants"][0]["metrics"]["top1"], record["variants"][0]["metrics"]["top5"])
