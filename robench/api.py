"""The notebook API: ``robench.evaluate(model, suites="paper", data_dir=..., out=...)``.

The same records, resume, job-array tasks and protocol sections as ``robench eval``, for a model the
caller already holds: a ``torch.nn.Module`` (named and preprocessed from timm's data config when it has
one, or from ``data_config``), a spec string, or a ``LoadedModel``; one or a list. The result carries
the records and the report's table as a pandas DataFrame.
"""
from dataclasses import dataclass, field


@dataclass
class Results:
    paths: list  # the records written, suite by suite
    records: list = field(default_factory=list)  # the same records, read back (JSON-ready dicts)

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
        from robench.errors import RobenchError

        raise RobenchError("name= and data_config= describe one model; pass LoadedModels for several")
    loaded = [as_loaded_model(m, name=name, data_config=data_config) for m in models]
    names, optional = expand_suites([suites] if isinstance(suites, str) else list(suites))
    given = [f"{k}={v}" for k, v in (roots or {}).items()] + ([str(root)] if root is not None else [])
    located = locate(names, optional, data_dir=data_dir, roots=given, select=select, skip_missing=skip_missing)
    from robench.fileio import check_out_dir

    check_out_dir(out)
    options.setdefault("progress", False)
    paths = evaluate_suites(loaded, located, out, options=EvalOptions(**options))
    return Results(paths, [read_record(p) for p in paths])
