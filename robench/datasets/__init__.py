"""Benchmark suites by name. A new benchmark is one module plus one line in ``_SUITES``."""
import difflib
import importlib

from robench.errors import RobenchError

# name -> "module:Class", imported on first use so that listing suites stays cheap.
_SUITES = {
    "imagenet": "robench.datasets.imagenet:ImageNetSuite",
    "imagenet-c": "robench.datasets.imagenet_c:ImageNetCSuite",
    "stylized-imagenet": "robench.datasets.stylized:StylizedImageNetSuite",
    "imagenet-r": "robench.datasets.imagenet_r:ImageNetRSuite",
    "imagenet-val-r200": "robench.datasets.imagenet_r:ImageNetValR200Suite",
    "imagenet-a": "robench.datasets.imagenet_a:ImageNetASuite",
    "imagenet-val-a200": "robench.datasets.imagenet_a:ImageNetValA200Suite",
    "imagenet-sketch": "robench.datasets.sketch:ImageNetSketchSuite",
    "imagenet-v2": "robench.datasets.imagenet_v2:ImageNetV2Suite",
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
