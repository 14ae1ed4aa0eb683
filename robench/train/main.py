"""Set-up of a training run: recipe -> model, data, optimiser, schedule -> epochs -> records.

Everything is a timm component (create_transform, Mixup, RepeatAugSampler, create_optimizer_v2,
create_scheduler_v2, SoftTargetCrossEntropy, ModelEmaV3); this module wires them to the recipe,
to torchrun (global batch = per-device batch x world, lr scaled by global batch / 512), to
checkpoints with auto-resume, and to the evaluation engine for validation and the final records.

``--device xla`` (torch_xla, PJRT) trains with the same recipe, in one process or under torchrun:
no DDP and no grad scaler there; ``gradient_reducer`` averages gradients over the ranks instead, and
BatchNorm statistics are broadcast through host copies (see ``loop`` for the step and its sync).
"""
import dataclasses
import glob
import json
import os
import shutil
import time

import torch

from robench.engine.runtime import init_runtime
from robench.errors import ModelSpecError, RobenchError
from robench.fileio import atomic_write_json, atomic_write_text, atomic_write_with
from robench.precision import PRECISIONS
from robench.registry import close_names
from robench.train import checkpoint as ckpts
from robench.train.data import (TrainDataset, check_val, make_sampler, make_train_loader, train_source,
                                train_transform, val_root)
from robench.train.loop import StepParts, train_one_epoch
from robench.train.recipes import differences, get_recipe, training_info, with_overrides
from robench.train.validate import evaluate_final, run_name, validate


def effective_recipe(config, world):
    """The preset with the run's overrides, its global batch fixed by --batch-size x world size."""
    recipe = with_overrides(get_recipe(config.recipe), config.overrides)
    if config.batch_size:
        recipe = with_overrides(recipe, {"global_batch": config.batch_size * world})
    elif recipe.global_batch % world:
        raise RobenchError(f"the recipe's global batch {recipe.global_batch} does not split over {world} "
                           "processes; give the per-device --batch-size")
    if recipe.uses_mixup and (recipe.global_batch // world) % 2:
        raise RobenchError(f"mixup/cutmix need an even per-device batch, not {recipe.global_batch // world}")
    if recipe.precision not in PRECISIONS:
        raise RobenchError(f"precision '{recipe.precision}' is not one of {', '.join(PRECISIONS)}")
    return recipe


def build_model(arch, recipe, seed):
    """A freshly initialised timm model, and the kwargs that rebuild it for evaluation."""
    import timm

    import robench.models.robust_resnet  # noqa: F401  (registers them even if timm was found, not loaded, before)

    if not timm.is_model(arch):
        raise ModelSpecError(f"unknown timm model '{arch}'.{close_names(arch, timm.list_models())} "
                             "(`robench list models` lists them)")
    # Evaluation must see the training resolution: `robench eval RUN_DIR/best.pth` rebuilds the model
    # with these kwargs, so the record's preprocessing follows the input size trained at.
    model_kwargs = {"pretrained_cfg_overlay": {"input_size": (3, recipe.input_size, recipe.input_size)}}
    extra = {"drop_path_rate": recipe.drop_path} if recipe.drop_path else {}
    torch.manual_seed(seed)
    try:
        model = timm.create_model(arch, pretrained=False, num_classes=1000, **model_kwargs, **extra)
    except TypeError as e:
        raise ModelSpecError(f"cannot build '{arch}' for training ({e}); if it has no drop path, "
                             "pass --set drop_path=0") from None
    return model, model_kwargs


def check_device(recipe, config, runtime):
    """What XLA cannot do is a clear error before any work (fp16 needs a grad scaler, which XLA runs
    without; XLA already compiles the whole step, so torch.compile is not needed)."""
    if runtime.device.type != "xla":
        return
    if recipe.precision == "fp16":
        raise RobenchError("--device xla trains in fp32 or bf16, not fp16 (which needs a grad scaler): "
                           "use --precision bf16")
    if config.compile:
        raise RobenchError("--compile is for cpu/cuda: on --device xla every step is already one compiled "
                           "XLA graph; drop --compile")


def gradient_reducer(net, optimizer, runtime):
    """Averages gradients over the ranks on XLA, where DDP is not used; None where nothing is to do.

    When torch_xla's runtime spans the processes (TPU slices, torch_xla's launcher) this is its
    in-graph all-reduce (``xm.reduce_gradients``, what ``xm.optimizer_step`` does), with no host
    round trip. When each process is its own XLA world (torchrun over PJRT clients that do not
    span processes, e.g. ``PJRT_DEVICE=CPU``) the gradients go as one flat host copy through the
    run's gloo group: a host sync per step, the price of collectives the XLA client lacks.
    """
    if runtime.device.type != "xla" or runtime.world == 1:
        return None
    import torch_xla.core.xla_model as xm
    import torch_xla.runtime as xr

    if xr.world_size() == runtime.world:
        return lambda: xm.reduce_gradients(optimizer)
    if xr.world_size() != 1:
        raise RobenchError(f"torch_xla sees {xr.world_size()} replicas but the run has {runtime.world} "
                           "processes: start one process per XLA device")
    params = [p for p in net.parameters() if p.requires_grad]

    def reduce_on_host():
        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return
        flat = runtime.all_reduce_sum(torch.cat([g.reshape(-1) for g in grads]).cpu())
        flat = (flat / runtime.world).to(runtime.device)
        offset = 0
        for g in grads:
            g.copy_(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()

    return reduce_on_host


def make_ema(ema_class, net, recipe, device):
    """timm's EMA of ``net``. On XLA it is built from a host copy and then moved: timm makes a
    ``torch.Generator`` on the EMA's device (for bf16 stochastic rounding), and XLA has none."""
    if device.type != "xla":
        return ema_class(net, decay=recipe.ema_decay)
    import copy

    ema = ema_class(copy.deepcopy(net).cpu(), decay=recipe.ema_decay)
    ema.module.to(device)
    return ema


def build_parts(net, recipe, config, runtime):
    """Optimiser, schedule, loss, mixup, scaler, EMA and the (DDP / compiled) forward module."""
    from timm.data import Mixup
    from timm.loss import LabelSmoothingCrossEntropy, SoftTargetCrossEntropy
    from timm.optim import create_optimizer_v2
    from timm.scheduler import create_scheduler_v2
    from timm.utils import ModelEmaV3

    from robench.train.static_mixup import StaticShapeMixup

    optimizer = create_optimizer_v2(net, opt=recipe.opt, lr=recipe.peak_lr(), weight_decay=recipe.weight_decay,
                                    eps=recipe.opt_eps)
    scheduler, total_epochs = create_scheduler_v2(
        optimizer, sched=recipe.sched, num_epochs=recipe.epochs, cooldown_epochs=recipe.cooldown_epochs,
        min_lr=recipe.min_lr, warmup_lr=recipe.warmup_lr, warmup_epochs=recipe.warmup_epochs,
        step_on_epochs=True)
    mixup = None
    if recipe.uses_mixup:
        # on XLA the CutMix box must be data of the step's graph, not slice constants (train/static_mixup.py)
        mix_class = StaticShapeMixup if runtime.device.type == "xla" else Mixup
        mixup = mix_class(mixup_alpha=recipe.mixup, cutmix_alpha=recipe.cutmix, prob=recipe.mixup_prob,
                          switch_prob=recipe.mixup_switch_prob, mode=recipe.mixup_mode,
                          label_smoothing=recipe.smoothing, num_classes=1000)
        loss_fn = SoftTargetCrossEntropy()
    elif recipe.smoothing:
        loss_fn = LabelSmoothingCrossEntropy(smoothing=recipe.smoothing)
    else:
        loss_fn = torch.nn.CrossEntropyLoss()
    ema = make_ema(ModelEmaV3, net, recipe, runtime.device) if recipe.ema else None
    xla = runtime.device.type == "xla"
    scaler = torch.amp.GradScaler(runtime.device.type, enabled=recipe.precision == "fp16" and not xla)
    model = net
    if runtime.world > 1 and not xla:
        ids = [runtime.device.index] if runtime.device.type == "cuda" else None
        model = torch.nn.parallel.DistributedDataParallel(net, device_ids=ids)
    if config.compile:
        model = torch.compile(model)
    parts = StepParts(model=model, bare=net, optimizer=optimizer, loss_fn=loss_fn.to(runtime.device),
                      scaler=scaler, device=runtime.device, mixup=mixup, ema=ema, clip_grad=recipe.clip_grad,
                      precision=recipe.precision, channels_last=config.channels_last,
                      reduce_grads=gradient_reducer(net, optimizer, runtime))
    return parts, scheduler, total_epochs


def check_resume(ckpt, path, recipe):
    """Continuing another experiment silently would mix two recipes in one run: refuse, naming fields."""
    stored = ckpt.get("recipe") or {}
    changed = differences(recipe, dataclasses.replace(recipe, **_as_fields(stored, recipe)))
    if stored.get("name") != recipe.name:
        changed = {"recipe": [stored.get("name"), recipe.name], **changed}
    if changed:
        detail = ", ".join(f"{k} {a} -> {b}" for k, (a, b) in changed.items())
        raise RobenchError(f"{path} was trained with a different recipe ({detail}); pass the same options "
                           "(e.g. the same global batch via --batch-size) or a new --out")


def _as_fields(stored, recipe):
    known = {f.name for f in dataclasses.fields(recipe)}
    return {k: tuple(v) if isinstance(v, list) else v for k, v in stored.items() if k in known}


def sync_buffers(modules, runtime):
    """Rank 0's BatchNorm statistics to every rank, so validation and checkpoints agree across ranks
    (BN statistics are per device during training, as in the paper: no SyncBN)."""
    if runtime.world == 1:
        return
    import torch.distributed as dist

    for module in modules:
        for buffer in module.buffers():
            if buffer.device.type == "xla":  # gloo sends host tensors: broadcast a copy, write it back
                host = buffer.data.cpu()
                dist.broadcast(host, 0)
                buffer.data.copy_(host.to(buffer.device))
            else:
                dist.broadcast(buffer.data, 0)
    runtime.sync()  # XLA: the copies land now, not inside the next step's graph


def _warn_if_one_class(source, root, runtime):
    """A train split of one class trains a network that can only ever say that class: likely a wrong
    --root (one class folder instead of the split), so it is said in one line before any step."""
    from robench.datasets.base import classes_found

    found = classes_found(source)
    if found == 1 and runtime.is_main:
        import sys

        sys.stderr.write(f"robench: warning: {root}/train holds one class only: the model can learn nothing "
                         "but that class (is --root the folder that holds train/<wnid>/ for every class?)\n")


def train(config):
    """Runs (or resumes) a training run; returns the paths of the result records written at the end."""
    runtime = init_runtime(config.device)
    recipe = effective_recipe(config, runtime.world)
    check_device(recipe, config, runtime)
    run_dir = os.fspath(config.out)
    eval_roots = _final_eval_roots(config)
    source = train_source(config.root)
    _warn_if_one_class(source, config.root, runtime)
    check_val(config.root)
    net, model_kwargs = build_model(config.model, recipe, config.seed)
    net.to(runtime.device)
    if config.channels_last:
        net.to(memory_format=torch.channels_last)
    parts, scheduler, total_epochs = build_parts(net, recipe, config, runtime)
    start, best = _resume(config, run_dir, recipe, parts, scheduler, runtime)
    from timm.data import resolve_data_config

    data_config = resolve_data_config({}, model=net)
    dataset = TrainDataset(source, train_transform(recipe, data_config))
    sampler = make_sampler(dataset, recipe, runtime)
    loader = make_train_loader(dataset, sampler, recipe.global_batch // runtime.world, config.workers,
                               pin_memory=runtime.device.type == "cuda")
    if runtime.is_main:
        _announce(config, recipe, runtime, len(dataset), start, total_epochs)
    for epoch in range(start, total_epochs):
        best = _run_epoch(epoch, total_epochs, config, recipe, runtime, parts, scheduler, sampler, loader,
                          run_dir, model_kwargs, best)
    name = config.name or run_name(config.model, recipe)
    return evaluate_final(config, recipe, runtime, run_dir, name, total_epochs, eval_roots)


def _final_eval_roots(config):
    """Suite -> root for the final evaluation, checked before any training starts."""
    from robench.datasets import get_suite

    roots = {}
    for suite in config.eval_suites:
        get_suite(suite)
        root = config.eval_roots.get(suite) or (val_root(config.root) if suite == "imagenet" else None)
        if root is None:
            raise RobenchError(f"--eval-suites names {suite} but no root for it: add --eval-roots {suite}=PATH")
        roots[suite] = root
    return roots


def _resume(config, run_dir, recipe, parts, scheduler, runtime):
    """Loads the checkpoint to continue from (if any); writes recipe.json; returns (epoch, best)."""
    path = ckpts.find_resume(run_dir, config.resume)
    start, best = 0, None
    if path:
        ckpt = ckpts.read_checkpoint(path)
        check_resume(ckpt, path, recipe)
        start = ckpts.restore(ckpt, model=parts.bare, optimizer=parts.optimizer, scheduler=scheduler,
                              scaler=parts.scaler, ema=parts.ema, rank=runtime.rank, world=runtime.world,
                              arch=config.model, path=path)
        best = ckpt.get("best")
        parts.step = int((ckpt.get("training") or {}).get("optimizer_steps", 0))
    if runtime.is_main:
        for stale in glob.glob(os.path.join(run_dir, ".tmp-*")):  # robench.fileio's, left by a kill mid-write
            if os.path.isfile(stale):
                os.unlink(stale)
        atomic_write_json(os.path.join(run_dir, "recipe.json"), recipe.to_json())
        _trim_log(os.path.join(run_dir, "log.jsonl"), start)
    runtime.barrier()
    return start, best


def _trim_log(path, start):
    """Keeps the log lines of epochs before ``start`` (a resumed run rewrites the rest)."""
    lines = []
    if os.path.isfile(path):
        with open(path) as f:
            for line in f:
                try:
                    if json.loads(line)["epoch"] < start:
                        lines.append(line if line.endswith("\n") else line + "\n")
                except (ValueError, KeyError, TypeError):
                    break  # a line torn by a kill ends the usable log
    atomic_write_text(path, "".join(lines))


def _announce(config, recipe, runtime, n_images, start, total_epochs):
    where = f"{runtime.world} x {runtime.device.type}" if runtime.world > 1 else runtime.device.type
    print(f"robench train: {config.model}, recipe {recipe.name}, {n_images} training images, "
          f"global batch {recipe.global_batch} ({where}), peak lr {recipe.peak_lr():.3g}, "
          + (f"all {total_epochs} epochs done, evaluating" if start >= total_epochs else
             f"epochs {start + 1}..{total_epochs}" + (f" (resumed after epoch {start})" if start else "")), flush=True)


def _run_epoch(epoch, total_epochs, config, recipe, runtime, parts, scheduler, sampler, loader, run_dir,
               model_kwargs, best):
    """Trains one epoch, validates and checkpoints as due, logs one line; returns the best so far."""
    ckpts.seed_everything(config.seed, epoch, runtime.rank, runtime.device)
    scheduler.step(epoch)  # epoch e trains at lr(e) (timm's convention; lr(0) = the warm-up start)
    sampler.set_epoch(epoch)
    lr = parts.optimizer.param_groups[0]["lr"]
    started = time.perf_counter()
    stats = train_one_epoch(parts, loader, runtime, epoch=epoch, epochs=total_epochs, progress=config.progress)
    modules = [parts.bare] + ([parts.ema.module] if parts.ema is not None else [])
    sync_buffers(modules, runtime)
    last = epoch + 1 == total_epochs
    val = {}
    if last or (config.eval_every and (epoch + 1) % config.eval_every == 0):
        val = validate(parts, config, recipe, runtime, run_dir, epoch)
    improved = "val_top1" in val and (best is None or val["val_top1"] > best["val_top1"])
    if improved:
        best = {"val_top1": val["val_top1"], "epoch": epoch}
    digests = runtime.all_gather_objects(ckpts.weights_digest(parts.bare))
    if runtime.is_main:  # logged before the checkpoint: a resume drops the lines of epochs it redoes
        line = {"epoch": epoch, "lr": lr, **stats, **val, "seconds": time.perf_counter() - started,
                "weights_sha256": digests, "best_epoch": best["epoch"] if best else None}
        _log(run_dir, line)
        print(_summary(line, total_epochs), flush=True)
    latest = last or (epoch + 1) % max(config.checkpoint_every, 1) == 0
    if latest or improved:
        _save(epoch, config, recipe, runtime, parts, scheduler, run_dir, model_kwargs, best,
              latest=latest, as_best=improved)
    return best


def _save(epoch, config, recipe, runtime, parts, scheduler, run_dir, model_kwargs, best, *, latest, as_best):
    rngs = runtime.all_gather_objects(ckpts.rng_state())
    if runtime.is_main:
        info = {**training_info(recipe, epoch + 1, runtime.world), "optimizer_steps": parts.step}
        state = ckpts.make_checkpoint(
            arch=config.model, model_kwargs=model_kwargs, model=parts.bare, optimizer=parts.optimizer,
            scheduler=scheduler, scaler=parts.scaler, ema=parts.ema, epochs_done=epoch + 1, recipe=recipe,
            best=best, rng_states=rngs, training=info, seed=config.seed)
        first = os.path.join(run_dir, ckpts.LATEST if latest else ckpts.BEST)
        ckpts.atomic_save(state, first)
        if latest and as_best:
            atomic_write_with(os.path.join(run_dir, ckpts.BEST), lambda tmp: shutil.copyfile(first, tmp),
                              suffix=".pth")
    runtime.barrier()


def _log(run_dir, line):
    with open(os.path.join(run_dir, "log.jsonl"), "a") as f:
        f.write(json.dumps(line) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _summary(line, total_epochs):
    text = (f"epoch {line['epoch'] + 1}/{total_epochs}  lr {line['lr']:.3e}  loss {line['train_loss']:.4f}  "
            f"{line['images_per_s']:.0f} img/s  {line['seconds']:.1f} s")
    if "val_top1" in line:
        text += f"  val top-1 {line['val_top1']:.2f} top-5 {line['val_top5']:.2f} ({line['val_images']} images)"
    if "ema_val_top1" in line:
        text += f"  EMA top-1 {line['ema_val_top1']:.2f}"
    if "xla_compiles" in line:
        text += f"  {line['xla_compiles']} XLA compile(s)"
    return text
