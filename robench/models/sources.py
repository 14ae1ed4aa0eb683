"""Model sources: where a spec's model comes from, found by name in one registry.

A source is a builder ``build(parsed_spec) -> Built``, or an object with that ``build`` and an
optional ``list_names(pattern)`` (a ``ModelSource``, a module, any instance). ``parsed_spec`` is a
``robench.models.spec.ModelSpec``: its ``target`` is the text after the prefix, its ``weights``
None, "random" or a file path. ``Built`` says what the builder made (the module, a data config for
models without their own, the hashes of the weights, how ``robench train`` made them, what the
source wants the record to say). ``robench.models.loading.apply_weights`` loads an ``@weights`` file
for a builder and returns the file's sha256 for ``Built.weights_sha256``. ``list_names(pattern)``
returns the specs (as ``-m`` takes them, e.g. ``clip:ViT-B-32``) whose names match the shell-style
``pattern``; ``robench list models --source NAME`` prints them.

A spec ``NAME:TARGET`` selects the source registered as NAME (any case). The built-ins:
``timm`` (also a bare name), ``torchvision`` (alias ``tv``), ``openclip``, and two that a spec
selects by its form, never by a prefix: ``checkpoint`` (a file path) and ``factory``
(``module:attr``, what any other ``NAME:`` means). Another package adds a source without editing
robench::

    [options.entry_points]
    robench.models =
        clip = my_pkg.clip_source:build          # a builder; or my_pkg.clip_source:SOURCE, a ModelSource

after which ``clip:ViT-B-32`` calls ``my_pkg.clip_source.build`` with target ``ViT-B-32``. Code in
a module that a source's name shadows stays reachable as ``factory:clip:make``. Builders written
before ``Built`` existed return ``(module, default_cfg, sha256[, info])``: that still works, the
third item read as ``weights_sha256`` and the fourth as ``source_info``.
"""
from dataclasses import dataclass
from typing import Callable, Optional

from robench.errors import ModelSpecError
from robench.registry import Registry

TIMM, TORCHVISION, FACTORY, CHECKPOINT = "timm", "torchvision", "factory", "checkpoint"
ALIASES = {"tv": TORCHVISION}  # other names of a source; a spec's ``source`` is always the canonical one
BY_FORM = (FACTORY, CHECKPOINT)  # selected by the spec's form, not by a prefix


@dataclass
class Built:
    """What a source's builder made. ``weights_sha256``: sha256 of the bytes of the weights file
    the spec names (``ARCH@FILE``; None without one); ``state_dict_sha256``: the hash of the
    tensors (``robench.models.wrap.state_dict_sha256``) instead, where the file's bytes are not the
    model's identity: a checkpoint ``robench train`` writes also holds the epoch, optimizer state
    and log, so a resumed run's file and an uninterrupted run's, with equal weights, are one model.
    ``training``: how ``robench train`` made the
    weights; ``source_info``: what the source says about how it built the model (e.g. openclip's
    zero-shot head), copied into the record."""
    module: object  # a torch.nn.Module
    default_cfg: Optional[dict] = None  # a timm-style data config, for models without their own
    weights_sha256: Optional[str] = None
    state_dict_sha256: Optional[str] = None
    training: Optional[dict] = None
    source_info: Optional[dict] = None


@dataclass(frozen=True)
class ModelSource:
    """A source that can also list what it builds: ``list_names(pattern) -> [spec, ...]``."""
    build: Callable
    list_names: Optional[Callable] = None


MODEL_SOURCES = Registry("model source", group="robench.models")
MODEL_SOURCES.register(TIMM, "robench.models.loading:TIMM_SOURCE")
MODEL_SOURCES.register(TORCHVISION, "robench.models.loading:TORCHVISION_SOURCE")
MODEL_SOURCES.register("tv", "robench.models.loading:TORCHVISION_SOURCE")  # claimed, so no plug-in takes it
MODEL_SOURCES.register(FACTORY, "robench.models.loading:build_factory")
MODEL_SOURCES.register(CHECKPOINT, "robench.models.loading:build_checkpoint")
MODEL_SOURCES.register("openclip", "robench.models.openclip_source:MODEL_SOURCE")  # zero-shot CLIP: robench[openclip]


def source_named(prefix):
    """The canonical source a spec prefix selects, or None (the spec is then ``module:attr``)."""
    wanted = prefix.lower()
    wanted = ALIASES.get(wanted, wanted)
    for name in MODEL_SOURCES.names():
        if name.lower() == wanted and name not in BY_FORM:
            return ALIASES.get(name, name)
    return None


def model_source(name):
    """The source registered as ``name`` as a ``ModelSource``, whichever form it was registered in."""
    obj = MODEL_SOURCES.get(name)
    if isinstance(obj, ModelSource):
        return obj
    build = getattr(obj, "build", None)
    if callable(build):
        listing = getattr(obj, "list_names", None)
        return ModelSource(build, listing if callable(listing) else None)
    if callable(obj):
        return ModelSource(obj)
    raise ModelSpecError(f"model source '{name}' ({MODEL_SOURCES.origin(name)}) is a {type(obj).__name__}: "
                         "register a function build(parsed_spec) or an object with build and list_names")


def as_built(value, source, spec):
    """A builder's return value as ``Built``; the old ``(module, default_cfg, sha256[, info])``
    tuples of plug-ins are converted (sha256 -> weights_sha256, info -> source_info)."""
    if isinstance(value, Built):
        return value
    if isinstance(value, tuple) and len(value) in (3, 4):
        module, default_cfg, sha256, info = (*value, None)[:4]
        return Built(module, default_cfg, weights_sha256=sha256, source_info=info)
    raise ModelSpecError(f"model source '{source}' returned {type(value).__name__} for spec '{spec}', not "
                         "robench.models.sources.Built (or the old (module, default_cfg, sha256[, info]))")
