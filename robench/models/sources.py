"""Model sources: where a spec's model comes from, found by name in one registry.

A source is a builder ``build(parsed_spec) -> (module, default_cfg, sha256, training)``:
``parsed_spec`` is a ``robench.models.spec.ModelSpec`` (its ``target`` is the text after the
prefix, its ``weights`` None, "random" or a file path); ``default_cfg`` is a timm-style data config
for models without their own (or None); ``sha256`` is the weights file's hash (or None);
``training`` is how ``robench train`` made the weights (or None; a builder may return only the
first three). ``robench.models.loading.apply_weights`` loads an ``@weights`` file for a builder.

A spec ``NAME:TARGET`` selects the source registered as NAME (any case). The built-ins:
``timm`` (also a bare name), ``torchvision`` (alias ``tv``), and two that a spec selects by its
form, never by a prefix: ``checkpoint`` (a file path) and ``factory`` (``module:attr``, what any
other ``NAME:`` means). Another package adds a source without editing robench::

    [options.entry_points]
    robench.models =
        clip = my_pkg.clip_source:build

after which ``clip:ViT-B-32`` calls ``my_pkg.clip_source.build`` with target ``ViT-B-32``. Code in
a module that a source's name shadows stays reachable as ``factory:clip:make``.
"""
from robench.registry import Registry

TIMM, TORCHVISION, FACTORY, CHECKPOINT = "timm", "torchvision", "factory", "checkpoint"
ALIASES = {"tv": TORCHVISION}  # other names of a source; a spec's ``source`` is always the canonical one
BY_FORM = (FACTORY, CHECKPOINT)  # selected by the spec's form, not by a prefix

MODEL_SOURCES = Registry("model source", group="robench.models")
MODEL_SOURCES.register(TIMM, "robench.models.loading:build_timm")
MODEL_SOURCES.register(TORCHVISION, "robench.models.loading:build_torchvision")
MODEL_SOURCES.register("tv", "robench.models.loading:build_torchvision")  # claimed, so no plug-in takes it
MODEL_SOURCES.register(FACTORY, "robench.models.loading:build_factory")
MODEL_SOURCES.register(CHECKPOINT, "robench.models.loading:build_checkpoint")
MODEL_SOURCES.register("openclip", "robench.models.openclip_source:build")  # zero-shot CLIP: robench[openclip]


def source_named(prefix):
    """The canonical source a spec prefix selects, or None (the spec is then ``module:attr``)."""
    wanted = prefix.lower()
    wanted = ALIASES.get(wanted, wanted)
    for name in MODEL_SOURCES.names():
        if name.lower() == wanted and name not in BY_FORM:
            return ALIASES.get(name, name)
    return None
