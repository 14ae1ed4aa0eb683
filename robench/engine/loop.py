"""The evaluation loop: variants x preprocessing groups x models, one decode per group.

Rank 0 decides which slices still need work (so that every rank runs the same collectives in the
same order, whatever its view of the disk) and broadcasts the list. For every variant, the
models that still need it are grouped by the pixels they see (``pixel_key``); each group reads
and decodes this rank's slice once and runs all its models on every batch (``group.GroupRun``).
Then the metric states are summed over ranks with one all-reduce and rank 0 saves one slice result per
(model, variant, job-array task) before the next group starts.
"""
from collections import defaultdict
from dataclasses import dataclass

from robench.engine import slice_results
from robench.engine.group import GroupRun
from robench.engine.memory import check_batch_memory
from robench.engine.predictions import PredictionRows, write_rows
from robench.engine.ranges import contiguous_slice
from robench.engine.runners import Runners
from robench.engine.runtime import init_runtime
from robench.engine.scoring import Scorer
from robench.models.preprocess import pixel_key


@dataclass
class EvalOptions:
    batch_size: int = 64
    workers: int = 2
    device: str = "auto"  # auto | cpu | cuda | xla
    precision: str = "fp32"  # fp32 | bf16 | fp16 (autocast)
    channels_last: bool = False
    compile: bool = False  # torch.compile the models
    pin_memory: bool = True  # page-locked batches (CUDA only)
    skip_bad_images: bool = False
    task: tuple = None  # (i, N): this job-array task's slice of every variant (--task i/N)
    save_predictions: bool = False
    progress_every: int = 50  # batches between progress files inside a slice; 0: none
    progress: bool = True
    threads: int = None  # CPU: batches in forward passes at once (runners.py); None: one per core, <= 16
    config: dict = None  # the run's resolved configuration (robench.run_config.stored), kept in records
    verify: bool = False  # fingerprint the data by content (reads it all once more)
    dist_timeout: float = None  # seconds a collective waits for the other ranks (None: ROBENCH_DIST_TIMEOUT or 1800)
    decode: str = "cpu"  # cpu | gpu: where JPEGs are decoded (gpu: nvjpeg in the main process, engine/gpu_decode.py)
    nonfinite: str = "error"  # error | wrong: NaN/inf logits fail the model, or count as wrong predictions (scoring.py)


@dataclass
class WorkItem:
    """One preprocessing group's unfinished slices in one variant: the job slice and this rank's part."""

    variant_index: int
    plan_indices: list
    start: int
    stop: int
    fingerprint: str
    rank_slice: tuple = None


def pending_work(plans, variants, options):
    """WorkItems for the slices not finished on disk, as seen by this process (rank 0 decides)."""
    todo = []
    for vi, variant in enumerate(variants):
        start, stop = (0, len(variant)) if options.task is None else contiguous_slice(len(variant), *options.task)
        fingerprint = variant.fingerprint(options.verify)
        groups = defaultdict(list)
        for pi, plan in enumerate(plans):
            path = plan.slice_result_path(variant.name, options.task)
            if slice_results.load_slice_result(path, plan.measurement_id, fingerprint, start, stop, plan.metric_set,
                                    need_predictions=options.save_predictions) is None:
                groups[pixel_key(plan.model.data_config, variant.resize)].append(pi)
            else:
                slice_results.remove_progress_files(path)
        todo.extend(WorkItem(vi, members, start, stop, fingerprint) for members in groups.values())
    return todo


def run_slices(plans, suite, variants, options, runtime=None):
    """Evaluates every (plan, variant) slice not already on disk; returns the runtime used."""
    runtime = runtime or init_runtime(options.device, options.dist_timeout)
    for plan in plans:
        plan.prepare(runtime.device, options.channels_last, options.compile)
    todo = runtime.broadcast_object(pending_work(plans, variants, options) if runtime.is_main else None)
    runs = []
    for work in todo:
        variant, members = variants[work.variant_index], [plans[i] for i in work.plan_indices]
        a, b = contiguous_slice(work.stop - work.start, runtime.rank, runtime.world)
        work.rank_slice = (work.start + a, work.start + b)
        key = pixel_key(members[0].model.data_config, variant.resize)
        runs.append(GroupRun(variant, key, members, work, options, runtime))
    scorer = Scorer(suite.label_subset, options.nonfinite)
    bar = _progress(runs, options.progress and runtime.is_main, runtime.world)
    runners = Runners(runtime.device, options.threads, options.compile)
    try:
        if runs:  # before the first image is decoded: inputs that cannot fit are one line, not an OOM kill
            check_batch_memory(options.batch_size, [dict(r.key)["input_size"] for r in runs],
                               0 if options.decode == "gpu" else options.workers, runners.count, runtime.device)
        for work, run in zip(todo, runs):
            bar.set_description(run.variant.name)
            run.run(scorer.for_variant(run.variant), bar, runners)  # label sets travel with a variant
            _finish(work, run, options, runtime)
    finally:
        runners.close()
        bar.close()
    return runtime


def _finish(work, run, options, runtime):
    """Sums the group's states over ranks; rank 0 saves the slice results of the models that did not fail on
    any rank; progress files are then dropped."""
    skipped = sorted(s for part in runtime.all_gather_objects(run.skipped) for s in part)
    skipped = [[key, reason] for _, key, reason in skipped]
    failures = runtime.all_gather_objects([p.model.failure for p in run.members])
    for k, plan in enumerate(run.members):
        reasons = [f[k] for f in failures if f[k] is not None]
        if reasons and plan.model.failure is None:
            plan.model.failure = reasons[0]  # another rank's failure: every rank leaves the model out
    for plan, metrics, rows in zip(run.members, run.metrics, run.rows):
        if plan.model.failure is not None:
            continue
        metrics.load_flat(runtime.all_reduce_sum(metrics.flat()))
        path = plan.slice_result_path(run.variant.name, options.task)
        if rows is not None:
            parts = runtime.gather_objects(rows.columns())
            if runtime.is_main:
                write_rows(slice_results.predictions_part(path), _joined(run.variant.name, parts),
                           slice_results.part_identity(plan.measurement_id, work.fingerprint, work.start, work.stop,
                                                       run.variant.name))
        if runtime.is_main:
            slice_results.save_slice_result(path, measurement_id=plan.measurement_id, metric_set=plan.metric_set,
                                 fingerprint=work.fingerprint, start=work.start, stop=work.stop,
                                 variant=run.variant.name, state=metrics.state_dict(), n_seen=metrics.count,
                                 skipped=skipped)
    runtime.barrier()
    for plan in run.members:  # every world size's: a world-2 run killed and rerun at world 1 leaves none
        if runtime.is_main:
            slice_results.remove_progress_files(plan.slice_result_path(run.variant.name, options.task))


def _joined(variant, parts):
    rows = PredictionRows(variant)
    for columns in parts:
        if len(columns["index"]):
            rows.chunks.append({k: v for k, v in columns.items() if k != "variant"})
    return rows


def _progress(runs, enabled, world):
    """A tqdm bar on a terminal, one line per variant in a log, nothing with --no-progress
    (``progress_log``); it counts this rank's images of every run."""
    from robench.engine.progress_log import make_progress

    per_variant = defaultdict(int)
    for run in runs:
        per_variant[run.variant.name] += run.remaining
    return make_progress(sum(per_variant.values()), enabled, world, dict(per_variant))
