"""Benchmark suites by name: ``SUITES`` (entry point group ``robench.suites``).

A new benchmark is one module whose Suite subclass declares everything downstream needs (see
``robench.datasets.suite``), registered here for built-ins or through an entry point by any other
package::

    [options.entry_points]
    robench.suites =
        imagenet-c-bar = my_package.imagenet_c_bar:ImageNetCBarSuite
"""
from robench.registry import Registry

SUITES = Registry("suite", group="robench.suites")
for _name, _target in (  # the paper's table order first: leaderboard columns follow it
        ("imagenet", "robench.datasets.imagenet:ImageNetSuite"),
        ("stylized-imagenet", "robench.datasets.stylized:StylizedImageNetSuite"),
        ("imagenet-c", "robench.datasets.imagenet_c:ImageNetCSuite"),
        ("imagenet-r", "robench.datasets.imagenet_r:ImageNetRSuite"),
        ("imagenet-sketch", "robench.datasets.sketch:ImageNetSketchSuite"),
        ("imagenet-val-r200", "robench.datasets.imagenet_r:ImageNetValR200Suite"),
        ("imagenet-a", "robench.datasets.imagenet_a:ImageNetASuite"),
        ("imagenet-val-a200", "robench.datasets.imagenet_a:ImageNetValA200Suite"),
        ("imagenet-v2", "robench.datasets.imagenet_v2:ImageNetV2Suite"),
        ("imagenet-c-gen", "robench.datasets.imagenet_c_gen:ImageNetCGenSuite"),
        ("imagenet-3dcc", "robench.datasets.imagenet_3dcc:ImageNet3DCCSuite"),
        ("imagenet-c-bar", "robench.datasets.imagenet_c_bar:ImageNetCBarSuite"),
        ("objectnet", "robench.datasets.objectnet:ObjectNetSuite"),
        ("cue-conflict", "robench.datasets.cue_conflict:CueConflictSuite")):
    SUITES.register(_name, _target)


def suite_names():
    return sorted(SUITES.names())


def get_suite(name):
    """A Suite instance of the suite registered as ``name``; a typo gets the closest names suggested."""
    target = SUITES.get(name)
    suite = target() if isinstance(target, type) else target
    if suite.name != name:
        from robench.registry import RegistryError

        raise RegistryError(f"suite registered as '{name}' calls itself '{suite.name}'; the names must agree")
    return suite


def __getattr__(name):  # COLLECTIONS and expand_suites are read lazily (they import the registry only)
    if name in ("COLLECTIONS", "expand_suites", "Collection"):
        from robench.datasets import collections

        return getattr(collections, name)
    raise AttributeError(name)


def find_suite(name):
    """The Suite of ``name`` or None when no suite of that name is installed (e.g. an old record's)."""
    return get_suite(name) if name in SUITES else None
