"""Validation during training and the final evaluation, both through the evaluation engine.

The in-training module is wrapped in a ``LoadedModel`` with the data config that evaluating its
checkpoint would use, so the numbers logged per epoch are the numbers ``robench eval`` reports
(exact counts, unpadded distributed slices). The final records carry ``model.training``: the
recipe, epochs trained and planned, and whether this is the paper's recipe.
"""
import os
import shutil

from robench.results import read_record
from robench.train import checkpoint as ckpts
from robench.train.data import val_root
from robench.train.recipes import find_recipe, training_info


def run_name(arch, recipe):
    """The model's name in records: ``<arch>-<recipe>``, plus ``-<N>ep`` when the epochs were changed."""
    preset = find_recipe(recipe.name)
    suffix = "" if preset is not None and preset.epochs == recipe.epochs else f"-{recipe.epochs}ep"
    return f"{arch}-{recipe.name}{suffix}"


def _options(config, recipe, runtime):
    from robench.engine import EvalOptions

    return EvalOptions(batch_size=config.eval_batch_size or max(recipe.global_batch // runtime.world, 1),
                       workers=config.workers, device=config.device, precision=recipe.precision,
                       channels_last=config.channels_last, progress=config.progress)


def _in_training(module, name, arch):
    from robench.models import LoadedModel
    from robench.models.preprocess import resolve_config

    return LoadedModel(spec=f"{arch}@training", name=name, module=module, data_config=resolve_config(module),
                       weights="training")


def validate(parts, config, recipe, runtime, run_dir, epoch):
    """Clean val top-1/top-5 of the model (and its EMA) now; returns log fields (rank 0), {} elsewhere."""
    from robench.engine import evaluate_suite

    models = [_in_training(parts.bare, "model", config.model)]
    if parts.ema is not None:
        models.append(_in_training(parts.ema.module, "ema", config.model))
    scratch = os.path.join(run_dir, ".val", f"epoch-{epoch:04d}")
    if runtime.is_main:
        shutil.rmtree(scratch, ignore_errors=True)  # slice results of a killed attempt hold other weights
    runtime.barrier()
    paths = evaluate_suite(models, "imagenet", val_root(config.root), scratch,
                     options=_options(config, recipe, runtime), runtime=runtime)
    parts.bare.train()
    _raise_failures(models, f"validation after epoch {epoch + 1}")
    out = {}
    for model, path in zip(models, paths):
        variant = read_record(path)["variants"][0]
        prefix = "val" if model.name == "model" else "ema_val"
        out.update({f"{prefix}_top1": variant["metrics"]["top1"], f"{prefix}_top5": variant["metrics"]["top5"],
                    f"{prefix}_images": variant["n_seen"]})
    if runtime.is_main:
        shutil.rmtree(os.path.join(run_dir, ".val"), ignore_errors=True)
    runtime.barrier()
    return out


def evaluate_final(config, recipe, runtime, run_dir, name, epochs_done, roots):
    """Evaluates RUN_DIR/latest.pth (the final weights) on each suite; returns the record paths."""
    from robench.engine import evaluate_suite
    from robench.models import load_model

    loaded = load_model(f"{name}={os.path.join(run_dir, ckpts.LATEST)}")
    loaded.training = training_info(recipe, epochs_done, runtime.world)
    paths = []
    for suite, root in roots.items():
        paths += evaluate_suite([loaded], suite, root, os.path.join(run_dir, "results"),
                          options=_options(config, recipe, runtime), runtime=runtime)
    _raise_failures([loaded], "the final evaluation")
    return paths


def _raise_failures(models, what):
    """The engine leaves a failing model out and goes on; in training that is an error, not a run
    that silently ends without validation or records."""
    from robench.errors import RobenchError

    for model in models:
        if model.failure is not None:
            raise RobenchError(f"{what} failed: {model.name} on {model.failure}")
