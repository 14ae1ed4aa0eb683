"""Model spec strings: ``[NAME=][SOURCE:]ARCH[.TAG][@WEIGHTS]`` or a checkpoint path.

- ``resnet50.a1_in1k``, ``timm:resnet50``: timm, pretrained weights from the LOCAL cache only.
- ``tv:resnet18`` / ``torchvision:resnet18``: torchvision, weights from the local torch hub cache.
- ``my.module:factory``: any code; ``factory()`` returns an ``nn.Module`` (also ``factory:my.module:factory``).
- ``SOURCE:TARGET``: any source registered in ``robench.models.sources.MODEL_SOURCES`` (plug-ins too).
- ``@random``: random init from seed 0, ``@random:SEED`` from another seed (the same weights on every
  rank, in every resumed run, on every machine); ``@/path/ckpt.pth|.safetensors``: weights from a file.
- ``/path/ckpt.pth``: a checkpoint that records its ``arch`` (as ``robench train`` writes).
- ``NAME=``: the name used for output paths and tables (default: derived from the spec).
"""
import os
import re
from dataclasses import dataclass
from typing import Optional

from robench.errors import ModelSpecError
from robench.models.sources import CHECKPOINT, FACTORY, TIMM, TORCHVISION, source_named  # noqa: F401

_CHECKPOINT_SUFFIXES = (".pth", ".pt", ".pth.tar", ".bin", ".safetensors", ".ckpt")
DEFAULT_SEED = 0  # what a bare @random means: one fixed network, not a new one per process
_RANDOM = re.compile(r"^random(?::(?P<seed>.*))?$")
_NAME = re.compile(r"^[A-Za-z0-9_.+-]+$")


@dataclass(frozen=True)
class ModelSpec:
    text: str
    source: str
    target: str  # architecture name, "module:factory", or checkpoint path
    weights: Optional[str]  # None = pretrained default, "random", or a file path
    name: str
    seed: Optional[int] = None  # the init seed of "random" weights (DEFAULT_SEED unless @random:SEED)


def parse_spec(text: str) -> ModelSpec:
    original = text.strip()
    if not original:
        raise ModelSpecError("empty model spec")
    name, rest = None, original
    head, sep, tail = original.partition("=")
    if sep and _NAME.match(head) and tail:
        name, rest = head, tail
        if set(name) <= {"."}:
            raise ModelSpecError(f"model name '{name}' in spec '{original}' is not a folder name: records go to "
                                 "OUT/<name>/; use letters, digits, '_', '-', '.' or '+'")
    looks_like_file = rest.lower().endswith(_CHECKPOINT_SUFFIXES) and os.sep in rest
    if "@" not in rest and (looks_like_file or os.path.isfile(rest)):
        return ModelSpec(original, CHECKPOINT, rest, rest, name or _stem(rest))
    target, at, weights = rest.rpartition("@") if "@" in rest else (rest, "", None)
    if at and not weights:
        raise ModelSpecError(f"model spec '{original}' ends with '@': give 'random' or a weights file")
    source, target = _source_and_target(target)
    if not target or (source == FACTORY and not target.partition(":")[2]):
        raise ModelSpecError(f"model spec '{original}' names no model")
    if source == FACTORY:
        _check_factory(original, target)
    default_name = target.split(":")[-1] if source == FACTORY else target
    seed = None
    found = _RANDOM.match(weights or "")
    if found and not os.path.isfile(weights):
        seed = _seed(original, found["seed"])
        weights = "random"
        if seed != DEFAULT_SEED:
            default_name = f"{default_name}-seed{seed}"
    elif weights is not None:
        default_name = f"{default_name}-{_stem(weights)}"
    return ModelSpec(original, source, target, weights, name or _safe(default_name), seed)


def _seed(spec, text):
    if text is None:
        return DEFAULT_SEED
    if not text.isdigit() or int(text) >= 2 ** 63:
        raise ModelSpecError(f"model spec '{spec}': @random:SEED takes a whole number from 0 (got '{text}')")
    return int(text)


def _source_and_target(target):
    """``NAME:rest`` -> (source NAME, rest) for a registered NAME; another ``a:b`` is code (factory)."""
    prefix, colon, remainder = target.partition(":")
    if not colon:
        return TIMM, target
    if prefix.lower() == FACTORY and ":" in remainder:  # explicit factory:module:attr
        return FACTORY, remainder
    source = source_named(prefix)
    return (source, remainder) if source else (FACTORY, target)


_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def _check_factory(original, target):
    """``module.path:attr`` with importable names only: a relative, empty or path-like module is not code."""
    module, _, attr = target.partition(":")
    if not _DOTTED.match(module) or not _DOTTED.match(attr):
        raise ModelSpecError(f"model spec '{original}': '{target}' is not MODULE:FACTORY (a dotted module name "
                             "importable from the current folder or PYTHONPATH, and a function in it), nor a "
                             "timm name, tv:NAME or a checkpoint file")


def _stem(path):
    base = os.path.basename(path)
    for suffix in _CHECKPOINT_SUFFIXES:
        if base.endswith(suffix):
            return _safe(base[: -len(suffix)])
    return _safe(base)


def _safe(name):
    safe = re.sub(r"[^A-Za-z0-9_.+-]", "_", name)
    return "_" + safe if set(safe) <= {"."} else safe
