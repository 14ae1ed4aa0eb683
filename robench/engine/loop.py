"""The evaluation loop: variants x preprocessing groups x models, one decode per group.

For every variant, the models that still need it are grouped by the pixels they see
(``pixel_key``); each group reads and decodes the variant's slice once and runs all its models
on every batch. Each finished (model, variant, slice) cell is saved before the next starts.
"""
from collections import defaultdict
from dataclasses import dataclass

import torch

from robench.engine import cells
from robench.engine.data import make_loader
from robench.engine.runtime import contiguous_slice, init_runtime
from robench.engine.scoring import Scorer
from robench.errors import BadImageError
from robench.metrics.classification import ClassificationMetrics
from robench.models.preprocess import build_transform, normaliser, pixel_key


@dataclass
class EvalOptions:
    batch_size: int = 64
    workers: int = 2
    device: str = "auto"
    precision: str = "fp32"  # fp32 | bf16 | fp16 (autocast)
    channels_last: bool = False
    skip_bad_images: bool = False
    shard: tuple = None  # (i, N): this job-array task's slice
    progress: bool = True


def variant_slice(n, options, runtime):
    """[start, stop) of this process: the job-array shard, then this rank's piece of it."""
    start, stop = (0, n) if options.shard is None else contiguous_slice(n, *options.shard)
    a, b = contiguous_slice(stop - start, runtime.rank, runtime.world)
    return start, stop, start + a, start + b


def run_cells(plans, suite, variants, options, runtime=None):
    """Evaluates every (plan, variant) cell not already on disk; returns the runtime used."""
    runtime = runtime or init_runtime(options.device)
    for plan in plans:
        plan.prepare(runtime.device, options.channels_last)
    scorer = Scorer(suite.label_subset)
    todo = []
    for variant in variants:
        start, stop, mine_a, mine_b = variant_slice(len(variant), options, runtime)
        fingerprint = variant.source.fingerprint()
        groups = defaultdict(list)
        for plan in plans:
            path = plan.cell_path(variant.name, options.shard)
            if cells.load_cell(path, plan.protocol_hash, fingerprint, start, stop) is None:
                groups[pixel_key(plan.model.data_config, variant.resize)].append(plan)
        for key, members in groups.items():
            todo.append((variant, key, members, (start, stop, mine_a, mine_b), fingerprint))
    total = sum(t[3][3] - t[3][2] for t in todo)
    bar = _progress(total, options.progress and runtime.is_main)
    for variant, key, members, (start, stop, a, b), fingerprint in todo:
        bar.set_description(variant.name)
        results, skipped = _run_group(variant, key, members, a, b, options, runtime, scorer, bar)
        skipped = _gather_skipped(skipped, runtime)
        for plan, metrics in zip(members, results):
            metrics.load_flat(runtime.all_reduce_sum(metrics.flat()))
            if runtime.is_main:
                cells.save_cell(plan.cell_path(variant.name, options.shard),
                                protocol_hash=plan.protocol_hash, fingerprint=fingerprint,
                                start=start, stop=stop, variant=variant.name,
                                state=metrics.state_dict(), n_seen=metrics.count, skipped=skipped)
        runtime.barrier()
    bar.close()
    return runtime


def _run_group(variant, key, plans, start, stop, options, runtime, scorer, bar):
    transform = build_transform(key)
    loader = make_loader(variant.source, start, stop, transform, options.batch_size, options.workers,
                         pin_memory=runtime.device.type == "cuda")
    metrics = [ClassificationMetrics() for _ in plans]
    norms = [normaliser(p.model.data_config, runtime.device) for p in plans]
    skipped = []
    autocast = _autocast(runtime.device, options.precision)
    with torch.inference_mode():
        for batch in loader:
            if batch.bad:
                if not options.skip_bad_images:
                    key_, reason = batch.bad[0]
                    raise BadImageError(
                        f"cannot decode {variant.source.locate(key_)} in {variant.name} ({reason}); "
                        "fix or remove the file, or pass --skip-bad-images to skip and count such files")
                skipped.extend([k, r] for k, r in batch.bad)
            if batch.labels.numel():
                images = batch.images.to(runtime.device, non_blocking=True).float()
                for plan, m, (mean, std) in zip(plans, metrics, norms):
                    x = (images - mean) / std
                    if options.channels_last:
                        x = x.contiguous(memory_format=torch.channels_last)
                    with autocast:
                        logits = plan.module(x)
                    scorer.update(m, logits, batch.labels)
            bar.update(len(batch.keys) + len(batch.bad))
    return metrics, skipped


def _autocast(device, precision):
    if precision == "fp32":
        return torch.autocast(device.type, enabled=False)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    return torch.autocast(device.type, dtype=dtype)


def _gather_skipped(skipped, runtime):
    if runtime.world == 1:
        return skipped
    import torch.distributed as dist

    parts = [None] * runtime.world
    dist.all_gather_object(parts, skipped)
    return [item for part in parts for item in part]


def _progress(total, enabled):
    from tqdm import tqdm

    return tqdm(total=total, unit="img", disable=not enabled, dynamic_ncols=True, smoothing=0.1)
