"""Named collections of suites: ``--suite paper`` runs the paper's whole table in one command.

A collection is declared like a suite and found the same way (``COLLECTIONS``, entry point group
``robench.collections``). ``found_only`` collections (``all``) take the suites whose data is found
and skip the others with a line; named suites of any other collection must all be there.
"""
from dataclasses import dataclass
from typing import Optional, Tuple

from robench.registry import Registry, close_names


@dataclass(frozen=True)
class Collection:
    name: str
    description: str
    suites: Optional[Tuple[str, ...]]  # None: every registered suite
    found_only: bool = False  # suites whose data is missing are skipped, not an error

    def suite_names(self):
        from robench.datasets import SUITES

        return list(self.suites) if self.suites is not None else SUITES.names()


COLLECTIONS = Registry("collection", group="robench.collections")
COLLECTIONS.register("paper", Collection(
    "paper", "the table of 'Can CNNs Be More Robust Than Transformers?' (ICLR 2023): ImageNet, Stylized-ImageNet, "
             "ImageNet-C, ImageNet-R with its clean twin, ImageNet-Sketch",
    ("imagenet", "stylized-imagenet", "imagenet-c", "imagenet-r", "imagenet-val-r200", "imagenet-sketch")))
COLLECTIONS.register("extended", Collection(
    "extended", "the benchmarks beyond the paper's: ImageNet-3DCC, ImageNet-C-bar and ObjectNet, with clean ImageNet "
                "(their companion)", ("imagenet", "imagenet-3dcc", "imagenet-c-bar", "objectnet")))
COLLECTIONS.register("all", Collection("all", "every installed suite whose data is found", None, found_only=True))


def expand_suites(tokens):
    """``--suite`` values (repeatable, comma-separated, suites or collections) -> (suite names in order,
    names that may be skipped when their data is missing)."""
    from robench.datasets import SUITES
    from robench.registry import RegistryError

    names, optional = [], set()
    for token in tokens:
        for name in (p.strip() for p in str(token).split(",")):
            if not name:
                continue
            if name in COLLECTIONS:
                collection = COLLECTIONS.get(name)
                members = collection.suite_names()
                if collection.found_only:
                    optional.update(m for m in members if m not in names)
            elif name in SUITES:
                members = [name]
                optional.discard(name)
            else:
                known = SUITES.names() + COLLECTIONS.names()
                raise RegistryError(f"unknown suite or collection '{name}'.{close_names(name, known)} "
                                    "See robench list suites")
            names.extend(m for m in members if m not in names)
    if not names:
        raise RegistryError("no suite given: --suite NAME (a suite or a collection such as paper)")
    return names, optional
