"""The notebook API: ``robench.evaluate(model, suites="paper", data_dir=..., out=...)``.

The same records, resume, job-array tasks and protocol sections as ``robench eval``, for a model the
caller already holds: a ``torch.nn.Module`` (named and preprocessed from timm's data config when it has
one, or from ``data_config``), a spec string, or a ``LoadedModel``; one or a list. The result carries
the records and the report's table as a pandas DataFrame.

It fails as loudly as the CLI: a model whose forward pass fails (an exception, logits that are not
(N, classes), non-finite values, weights of another dtype) is named with its problem. When every model
failed, ``ModelFailedError`` is raised; when some did, the others' records are returned, the failures are
in ``Results.failures`` and a ``RobenchWarning`` names each. A module the caller passed is left as it
was found: its train/eval mode and its device are restored afterwards.
"""
import warnings
from dataclasses import dataclass, field

from robench.errors import RobenchError


class ModelFailedError(RobenchError):
    """Every model given to ``robench.evaluate`` failed; the message names each and its problem."""


class RobenchWarning(UserWarning):
    """A model failed while others were evaluated (``Results.failures`` holds the reasons)."""


@dataclass
class Results:
    paths: list  # the records written, suite by suite
    records: list = field(default_factory=list)  # the same records, read back (JSON-ready dicts)
    failures: dict = field(default_factory=dict)  # model name -> where and why it failed (no records)

    @property
    def frame(self):
        """The paper-style table of these records (``robench report``'s): one row per model and section."""
        from robench.report import report_frame

        return report_frame(self.records)

    def table(self, fmt="table"):
        from robench.report import render

        return render(self.frame, fmt)


def evaluate(models, suites="imagenet", *, data_dir=None, roots=None, root=None, out="results", name=None,
             data_config=None, select=None, skip_missing=False, **options):
    """Evaluates ``models`` on ``suites`` (names or collections, a string or a list) and returns Results.

    Data: ``data_dir`` (each suite under its conventional folder), ``roots`` ({suite: path}) or ``root``
    (one suite). ``name``/``data_config`` name and configure a single ``nn.Module``. ``options`` are
    ``robench.engine.EvalOptions`` fields (batch_size, workers, device, precision, task, ...;
    ``nonfinite="wrong"`` counts images with NaN or infinite logits as wrong predictions instead of
    failing the model, as ``robench eval --nonfinite wrong`` does).
    """
    from robench.datasets.collections import expand_suites
    from robench.datasets.locate import locate
    from robench.engine import EvalOptions, evaluate_suites
    from robench.models.wrap import as_loaded_model
    from robench.results import read_record

    many = isinstance(models, (list, tuple))
    models = list(models) if many else [models]
    if (name is not None or data_config is not None) and len(models) != 1:
        raise RobenchError("name= and data_config= describe one model; pass LoadedModels for several")
    with _as_found([m for m in models if _is_module(m)]):  # wrapping a module already sets eval mode
        loaded = [as_loaded_model(m, name=name, data_config=data_config) for m in models]
        names, optional = expand_suites([suites] if isinstance(suites, str) else list(suites))
        given = [f"{k}={v}" for k, v in (roots or {}).items()] + ([str(root)] if root is not None else [])
        located = locate(names, optional, data_dir=data_dir, roots=given, select=select, skip_missing=skip_missing)
        from robench.fileio import check_out_dir

        check_out_dir(out)
        options.setdefault("progress", False)
        paths = evaluate_suites(loaded, located, out, options=EvalOptions(**options))
    failures = {m.name: m.failure for m in loaded if m.failure is not None}
    if failures and len(failures) == len(loaded):
        raise ModelFailedError("; ".join(f"model {n} failed on {why}; no records were written"
                                         for n, why in failures.items()))
    for n, why in failures.items():
        warnings.warn(f"model {n} failed on {why}; its records were not written", RobenchWarning, stacklevel=2)
    return Results(paths, [read_record(p) for p in paths], failures)


def _is_module(obj):
    import torch

    return isinstance(obj, torch.nn.Module)


class _as_found:
    """Restores each module's train/eval mode (of every submodule) and device after the evaluation,
    which puts models in eval mode and moves them to the run's device."""

    def __init__(self, modules):
        self.saved = [(m, [(sub, sub.training) for sub in m.modules()], _device_of(m)) for m in modules]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for module, modes, device in self.saved:
            if device is not None and _device_of(module) != device:
                module.to(device)
            for sub, training in modes:
                sub.training = training
        return False


def _device_of(module):
    tensor = next(iter(module.parameters()), None)
    if tensor is None:
        tensor = next(iter(module.buffers()), None)
    return None if tensor is None else tensor.device


def report(directory, intervals=True, level=0.95, draws=1000, seed=0):
    """``robench report DIRECTORY --intervals`` as a DataFrame: the values, with their intervals in
    ``frame.attrs["intervals"]`` ({(section, model, column id): (low, high, method)}; see
    ``robench.report.report_frame``)."""
    from robench.report import report_frame

    return report_frame(directory, intervals={"level": level, "draws": draws, "seed": seed} if intervals else None)


def compare(directory, a, b, level=0.95, draws=1000, seed=0):
    """``robench report DIRECTORY --intervals --compare A B`` as a DataFrame: per column A, B, B - A and
    its paired-bootstrap interval (``b_minus_a_low``/``_high``); ``attrs["per_variant"]`` holds, per
    variant, McNemar's exact p-value and the error consistency kappa of the two models (both need
    ``--save-predictions`` stores)."""
    from robench.report_compare import compare as compare_frame

    return compare_frame(report(directory, True, level, draws, seed), a, b, paired=True)
