"""One training epoch (and one step), apart from the set-up in ``main``, as DeiT's engine is.

The step is the recipe's: timm Mixup/CutMix on the batch, autocast in the run's precision,
soft-target cross-entropy, optional gradient clipping, optimiser step through a grad scaler (a
no-op except for fp16), then the EMA update.

On XLA (``--device xla``) the step is traced, not run: gradients are averaged over the ranks
(``reduce_grads``: torch_xla's in-graph all-reduce, or gloo on one host copy when each process is
its own XLA world), the optimiser and EMA step are queued, and ``torch_xla.sync()`` after them cuts
and runs one graph per step. Nothing reads a value back per step: the epoch's loss is summed on
the device and read once, at the end of the epoch.
"""
import math
import time
from dataclasses import dataclass
from typing import Any, Optional

import torch

from robench.errors import RobenchError
from robench.precision import autocast


@dataclass
class StepParts:
    model: Any  # what runs forward: the module, maybe wrapped in DDP and/or compiled
    bare: Any  # the module itself (EMA source, checkpoints)
    optimizer: Any
    loss_fn: Any
    scaler: Any
    device: Any
    mixup: Optional[Any] = None
    ema: Optional[Any] = None
    clip_grad: Optional[float] = None
    precision: str = "fp32"
    channels_last: bool = False
    step: int = 0  # optimiser steps so far (EMA warm-up counts them)
    reduce_grads: Optional[Any] = None  # averages gradients over ranks where DDP does not (XLA)

    @property
    def xla(self):
        return getattr(self.device, "type", None) == "xla"


def train_step(parts, images, labels, loss_sum=None):
    """One optimiser step on a batch; returns the loss (a detached 0-d tensor on the device).
    ``loss_sum``: a one-element tensor on the device the loss is added to (inside the step's XLA graph)."""
    images = images.to(parts.device, non_blocking=True)
    targets = labels.to(parts.device, non_blocking=True)
    if parts.mixup is not None:
        images, targets = parts.mixup(images, targets)
    if parts.channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    with autocast(parts.device, parts.precision):
        loss = parts.loss_fn(parts.model(images), targets)
    parts.optimizer.zero_grad(set_to_none=True)
    parts.scaler.scale(loss).backward()
    if parts.reduce_grads is not None:
        parts.reduce_grads()
    if parts.clip_grad:
        parts.scaler.unscale_(parts.optimizer)
        torch.nn.utils.clip_grad_norm_(parts.bare.parameters(), parts.clip_grad)
    parts.scaler.step(parts.optimizer)
    parts.scaler.update()
    parts.step += 1
    if parts.ema is not None:
        parts.ema.update(parts.bare, step=parts.step)
    loss = loss.detach()
    if loss_sum is not None:
        loss_sum += loss.to(loss_sum.dtype)
    if parts.xla:  # one graph per step: forward, backward, all-reduce, optimiser and EMA update
        import torch_xla

        torch_xla.sync()
    return loss


def train_one_epoch(parts, loader, runtime, *, epoch, epochs, progress=True):
    """Trains over ``loader`` once; returns mean loss over all ranks' steps, images seen and time."""
    from tqdm import tqdm

    parts.model.train()
    # float64 where the device has it; XLA (TPUs) sums in float32. One element, not a 0-d tensor:
    # torch_xla turns a 0-d tensor holding 0 or 1 into a constant of the graph, which made the first
    # step of every epoch after the first a graph of its own (one more compile per run).
    total = torch.zeros(1, dtype=torch.float32 if parts.xla else torch.float64).to(parts.device)
    steps, start = 0, time.perf_counter()
    compiled_before = xla_compile_count() if parts.xla else None
    global_batch = loader.batch_size * runtime.world
    bar = tqdm(total=len(loader) * global_batch, unit="img", desc=f"epoch {epoch + 1}/{epochs}",
               disable=not (progress and runtime.is_main), dynamic_ncols=True, leave=False)
    for images, labels in loader:
        loss = train_step(parts, images, labels, loss_sum=total)
        steps += 1
        bar.update(global_batch)
        if not parts.xla and (steps % 10 == 1 or steps == len(loader)):  # XLA: no host reads per step
            value = loss.item()
            if not math.isfinite(value):
                raise RobenchError(f"training loss is {value} at epoch {epoch} step {steps}; "
                                   "lower --lr, use --precision fp32 or add --clip-grad")
            bar.set_postfix(loss=f"{value:.4f}", lr=f"{parts.optimizer.param_groups[0]['lr']:.2e}")
    bar.close()
    seconds = time.perf_counter() - start
    local = total.item()
    if parts.xla and not math.isfinite(local):
        raise RobenchError(f"training loss summed over epoch {epoch} is {local}; lower --lr, use --precision "
                           "fp32 or add --clip-grad")
    sums = runtime.all_reduce_sum(torch.tensor([local, steps], dtype=torch.float64))
    loss_mean = sums[0].item() / max(sums[1].item(), 1)
    images = int(sums[1].item()) * loader.batch_size
    stats = {"train_loss": loss_mean, "images": images, "train_seconds": seconds,
             "images_per_s": images / seconds if seconds > 0 else None}
    if parts.xla:  # graphs compiled during the epoch's steps: 0 once every step's graph is cached
        stats["xla_compiles"] = xla_compile_count() - compiled_before
    return stats


def xla_compile_count():
    """XLA graphs this process has compiled so far (torch_xla's CompileTime metric).

    Why: on a TPU a step whose graph changes (a new shape, a Python value baked into the graph)
    compiles again, which costs far more than the step; the per-epoch count in ``log.jsonl`` is how a
    user (and tests/test_xla_train.py) sees that the steps settled on a fixed set of graphs."""
    import torch_xla.debug.metrics as met

    data = met.metric_data("CompileTime")
    return int(data[0]) if data else 0
