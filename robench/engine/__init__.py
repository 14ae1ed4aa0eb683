"""The evaluation engine: ``evaluate_suite(models, suite, root, out_dir)`` -> record paths.

See ``loop`` for the batching, ``runtime`` for devices and ranks, ``slice_results`` and ``progress`` for resumption.
``evaluate_suites`` runs several suites with the same loaded models, in order: each suite resumes
from its own slice results, so a run killed in its third suite redoes nothing of the first two.
"""
from robench.engine.loop import EvalOptions, run_slices


def _loaded(models):
    from robench.models.wrap import as_loaded_model

    loaded = [as_loaded_model(m) for m in models]
    names = [m.name for m in loaded]
    if len(set(names)) != len(names):
        from robench.errors import ModelSpecError

        raise ModelSpecError(f"two models share an output name ({names}); name them: --model NAME=SPEC "
                             "or as_loaded_model(module, name=...)")
    return loaded


def evaluate_suite(models, suite, root, out_dir, *, select=None, options=None, runtime=None, variants=None):
    """Evaluates every model on every selected variant of ``suite`` under ``root``.

    ``models``: spec strings, ``LoadedModel``s or ``torch.nn.Module``s; ``suite``: a name or a Suite;
    ``variants``: the suite's variants when already scanned. Writes one record per model to
    ``out_dir/<model>/<suite>.json`` (rank 0 only) and returns their paths. A model whose forward pass
    fails (raises, or returns anything but finite (N, 1000) logits) gets ``model.failure`` set, no slice results
    and no record; the others finish. With ``options.nonfinite == "wrong"`` NaN or infinite logits do
    not fail the model: each such image counts as a wrong prediction (``engine.scoring``), is counted
    per variant in the record and named in one warning line per model and variant on stderr.
    """
    from robench.datasets import get_suite
    from robench.engine.plan import ModelPlan
    from robench.engine.records import write_plan_record

    options = options or EvalOptions()
    suite = get_suite(suite) if isinstance(suite, str) else suite
    variants = variants if variants is not None else suite.variants(root, select)
    plans = [ModelPlan(m, suite, out_dir, options.precision, decoder=options.decode, nonfinite=options.nonfinite)
             for m in _loaded(models) if m.failure is None]
    if not plans:
        return []
    runtime = run_slices(plans, suite, variants, options, runtime)
    if not runtime.is_main:
        return []
    # a model that failed (model.failure says where and why) gets no record; the others do
    return [write_plan_record(p, variants, root, options, runtime) for p in plans if p.model.failure is None]


def evaluate_suites(models, located, out_dir, *, options=None, runtime=None):
    """Every model on every ``robench.datasets.locate.Located`` suite, in order; models load once.
    Returns the record paths (rank 0), suite by suite."""
    from robench.engine.runtime import init_runtime

    options = options or EvalOptions()
    loaded = _loaded(models)
    runtime = runtime or init_runtime(options.device, options.dist_timeout)
    paths = []
    for item in located:
        paths += evaluate_suite([m for m in loaded if m.failure is None], item.suite, item.root, out_dir,
                          options=options, runtime=runtime, variants=item.variants)
    return paths
