"""robench: how does this image classifier hold up out of distribution?

Importing robench stays light (no torch) so that ``robench --help`` is instant. The paper's
Robust-ResNet models register themselves in timm's registry as soon as timm is imported,
whether that happened before or after ``import robench``.
"""
import importlib.abc
import sys

__version__ = "0.2.0"


def __getattr__(name):
    """``robench.evaluate``: the notebook API, imported on first use so that ``import robench`` stays light."""
    if name == "evaluate":
        from robench.api import evaluate

        return evaluate
    raise AttributeError(f"module 'robench' has no attribute '{name}'")


def _register_models():
    import robench.models.robust_resnet  # noqa: F401  (registers with timm)


class _RegisterWhenTimmLoads(importlib.abc.MetaPathFinder):
    """Wraps timm's loader so that our models join its registry right after timm executes.

    It stays in place until timm is really loaded: ``importlib.util.find_spec("timm")`` (which
    robench.labels uses to find timm's data files) asks finders without executing anything.
    """

    _searching = False

    def find_spec(self, fullname, path, target=None):
        if fullname != "timm" or self._searching:
            return None
        import importlib.util

        self._searching = True
        try:
            spec = importlib.util.find_spec("timm")
        finally:
            self._searching = False
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_register(module):
            exec_module(module)
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            _register_models()

        spec.loader.exec_module = exec_and_register
        return spec


if "timm" in sys.modules:
    _register_models()
elif not any(isinstance(f, _RegisterWhenTimmLoads) for f in sys.meta_path):
    sys.meta_path.insert(0, _RegisterWhenTimmLoads())
