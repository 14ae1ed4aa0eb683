"""The evaluation engine: ``evaluate(models, suite, root, out_dir)`` -> record paths.

See ``loop`` for the batching, ``runtime`` for devices and ranks, ``cells`` for resumption.
"""
from robench.engine.loop import EvalOptions, run_cells


def evaluate(models, suite, root, out_dir, *, select=None, options=None, runtime=None):
    """Evaluates every model on every selected variant of ``suite`` under ``root``.

    ``models``: spec strings or ``LoadedModel``s; ``suite``: a name or a Suite. Writes one record per
    model to ``out_dir/<model>/<suite>.json`` (rank 0 only) and returns their paths.
    """
    from robench.datasets import get_suite
    from robench.engine.plan import ModelPlan
    from robench.engine.records import write_plan_record
    from robench.models import load_model

    options = options or EvalOptions()
    suite = get_suite(suite) if isinstance(suite, str) else suite
    variants = suite.variants(root, select)
    loaded = [load_model(m) if isinstance(m, str) else m for m in models]
    names = [m.name for m in loaded]
    if len(set(names)) != len(names):
        from robench.errors import ModelSpecError

        raise ModelSpecError(f"two models share an output name ({names}); name them: --model NAME=SPEC")
    plans = [ModelPlan(m, suite, out_dir, options.precision) for m in loaded]
    runtime = run_cells(plans, suite, variants, options, runtime)
    if not runtime.is_main:
        return []
    return [write_plan_record(p, variants, root, options, runtime) for p in plans]
