"""Benchmark suites by name. A new benchmark is one module plus one line in ``_SUITES``."""
import difflib
import importlib

from robench.errors import RobenchError

# name -> "module:Class", imported on first use so that listing suites stays cheap.
_SUITES = {
    "imagenet": "robench.datasets.imagenet:ImageNetSuite",
}


def suite_names():
    return sorted(_SUITES)


def get_suite(name):
    """The Suite registered as ``name``; a typo gets the closest names suggested."""
    target = _SUITES.get(name)
    if target is None:
        close = difflib.get_close_matches(name, _SUITES, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise RobenchError(f"unknown suite '{name}'.{hint} Known suites: {', '.join(suite_names())}")
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)()
