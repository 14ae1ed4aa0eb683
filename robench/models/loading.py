"""Building a model from a spec string, with its weights and its evaluation preprocessing.

The spec names a source (``robench.models.sources``); this module holds the built-in sources'
builders. robench never downloads: pretrained weights come from local files or the local caches
of the Hugging Face hub and torch hub. When they are not there, the error says how to get them.
"""
import importlib
import os
from dataclasses import dataclass, field

from robench.errors import ModelSpecError
from robench.models import weights as weight_files
from robench.models.sources import Built, ModelSource, as_built, model_source
from robench.models.spec import FACTORY, parse_spec
from robench.registry import close_names


@dataclass
class LoadedModel:
    spec: str
    name: str
    module: object  # torch.nn.Module, in eval mode
    data_config: dict = field(default_factory=dict)
    weights_sha256: str = None  # sha256 of the bytes of the ARCH@FILE weights file the spec names
    state_dict_sha256: str = None  # sha256 of the tensors: in-memory models, checkpoints (robench train's)
    weights: str = "pretrained"  # pretrained | random | file | as-built | in-memory (robench.models.wrap)
    training: dict = None  # how robench train made these weights (recipe, epochs); None otherwise
    preprocessing_overrides: dict = None  # --input-size/--crop-pct/--interpolation given by the user
    source_info: dict = None  # what a model source says about how it built the model (e.g. openclip's head)
    failure: str = None  # set by the engine when the model failed (it is then left out of the rest of the run)

    @property
    def params(self):
        return sum(p.numel() for p in self.module.parameters())

    @property
    def num_classes(self):
        return getattr(self.module, "num_classes", None)

    def describe(self):
        """The ``model`` section of a result record."""
        cfg = {k: list(v) if isinstance(v, tuple) else v for k, v in self.data_config.items()}
        out = {"spec": self.spec, "name": self.name, "params": self.params, "weights": self.weights,
               "weights_sha256": self.weights_sha256, "state_dict_sha256": self.state_dict_sha256,
               "data_config": cfg}
        if self.training is not None:
            out["training"] = self.training
        if self.source_info is not None:  # e.g. a zero-shot CLIP head: templates, class names, versions
            out["source_info"] = self.source_info
        if self.preprocessing_overrides:  # a departure from the model's own protocol: the leaderboard says so
            out["preprocessing_overrides"] = self.preprocessing_overrides
        return out


def load_model(spec, **data_overrides):
    """Builds, loads and configures the model ``spec`` names (see ``robench.models.spec``)."""
    parsed = parse_spec(spec) if isinstance(spec, str) else spec
    built = _build(parsed)
    built.module.eval()
    named_file = parsed.weights not in (None, "random") or built.weights_sha256
    weights = "random" if parsed.weights == "random" else ("file" if named_file else _default_weights(parsed))
    from robench.models.preprocess import resolve_config

    config = resolve_config(built.module, built.default_cfg, data_overrides)
    overrides = {k: (list(v) if isinstance(v, tuple) else v) for k, v in data_overrides.items() if v is not None}
    return LoadedModel(parsed.text, parsed.name, built.module, config, weights_sha256=built.weights_sha256,
                       state_dict_sha256=built.state_dict_sha256, weights=weights, training=built.training,
                       preprocessing_overrides=overrides or None, source_info=built.source_info)


def _build(parsed):
    """The spec's source's ``Built``, checked. Random weights are drawn from the spec's seed inside a
    forked RNG (the caller's random state is untouched), and their state-dict hash is recorded, so two
    ranks, a resumed run and another machine evaluate one network."""
    import torch

    if parsed.weights == "random":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(parsed.seed if parsed.seed is not None else 0)
            built = as_built(model_source(parsed.source).build(parsed), parsed.source, parsed.text)
        if isinstance(built.module, torch.nn.Module) and built.state_dict_sha256 is None:
            from robench.models.wrap import state_dict_sha256

            built.state_dict_sha256 = state_dict_sha256(built.module)
    else:
        built = as_built(model_source(parsed.source).build(parsed), parsed.source, parsed.text)
    if not isinstance(built.module, torch.nn.Module):
        raise ModelSpecError(f"model source '{parsed.source}' built {type(built.module).__name__} for spec "
                             f"'{parsed.text}', not a torch.nn.Module")
    return built


def apply_weights(module, parsed):
    """Loads the spec's ``@weights`` file into ``module`` (for any source); its sha256, or None."""
    if parsed.weights in (None, "random"):
        return None
    return weight_files.load_weights(module, parsed.weights)


def build_timm(parsed):
    import timm

    arch = parsed.target
    if not timm.is_model(arch.split(".")[0]):
        _unknown_model(parsed.text, arch, timm.list_models())
    if parsed.weights is None:
        path = _local_timm_weights(arch)
        model = timm.create_model(arch, pretrained=True, pretrained_cfg_overlay={"file": path})
        return Built(model)  # timm's cache file: its name says the tag, its hash is not read
    model = timm.create_model(arch, pretrained=False)
    return Built(model, weights_sha256=apply_weights(model, parsed))


def list_timm(pattern="*"):
    """timm's architectures and tags matching ``pattern``, robench's Robust-ResNets among them."""
    import timm

    import robench  # noqa: F401  (registers robust_resnet_* with timm)

    return timm.list_models(pattern)


def _local_timm_weights(arch):
    """Path of cached pretrained weights for a timm name, or a ModelSpecError saying what to do."""
    import timm
    import torch

    cfg = timm.models.get_pretrained_cfg(arch, allow_unregistered=True)
    candidates = []
    if cfg is not None and cfg.hf_hub_id:
        from huggingface_hub import try_to_load_from_cache

        for filename in ("model.safetensors", "pytorch_model.bin", "open_clip_pytorch_model.bin"):
            found = try_to_load_from_cache(cfg.hf_hub_id.split("@")[0], filename)
            if isinstance(found, str):
                candidates.append(found)
    if cfg is not None and cfg.url:
        candidates.append(os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(cfg.url)))
    for path in candidates:
        if os.path.isfile(path):
            return path
    raise ModelSpecError(
        f"no local pretrained weights for timm model '{arch}' (robench never downloads). "
        f"Fetch them once with network access (python -c \"import timm; timm.create_model('{arch}', "
        f"pretrained=True)\"), or use '{arch}@/path/to/weights.pth' or '{arch}@random'"
    )


def build_torchvision(parsed):
    import torch
    import torchvision

    names = torchvision.models.list_models(module=torchvision.models)
    if parsed.target not in names:
        _unknown_model(parsed.text, parsed.target, names)
    model = torchvision.models.get_model(parsed.target, weights=None)
    try:
        default = torchvision.models.get_model_weights(parsed.target).DEFAULT
    except (ValueError, AttributeError):
        default = None
    sha = apply_weights(model, parsed)
    if parsed.weights is None:
        path = os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(default.url)) if default else None
        if not path or not os.path.isfile(path):
            raise ModelSpecError(
                f"no local pretrained weights for torchvision model '{parsed.target}' (robench never "
                f"downloads; expected {path}). Use 'tv:{parsed.target}@/path/weights.pth' or '@random'"
            )
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return Built(model, _torchvision_config(default), weights_sha256=sha)


def list_torchvision(pattern="*"):
    """``tv:NAME`` specs of torchvision's classification models matching ``pattern``."""
    import fnmatch

    import torchvision

    return [f"tv:{name}" for name in fnmatch.filter(torchvision.models.list_models(module=torchvision.models),
                                                    pattern)]


def _torchvision_config(weights):
    """timm-style data config from torchvision's weight metadata (their eval transforms)."""
    if weights is None:
        return None
    t = weights.transforms()
    crop, resize = t.crop_size[0], t.resize_size[0]
    return {"input_size": (3, crop, crop), "crop_pct": crop / resize, "crop_mode": "center",
            "interpolation": t.interpolation.value, "mean": tuple(t.mean), "std": tuple(t.std)}


def build_factory(parsed):
    module_name, _, attr = parsed.target.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError, TypeError) as e:
        raise ModelSpecError(f"cannot import '{parsed.target}' for model spec '{parsed.text}': {e}") from None
    if not callable(factory):
        raise ModelSpecError(f"'{parsed.target}' in model spec '{parsed.text}' is a {type(factory).__name__}, "
                             "not a function that builds a model")
    try:
        model = factory()
    except Exception as e:  # the user's code: one line naming it, not a traceback
        message = " ".join(str(e).split())[:300]
        raise ModelSpecError(f"'{parsed.target}()' for model spec '{parsed.text}' raised {type(e).__name__}: "
                             f"{message}") from None
    import torch

    if not isinstance(model, torch.nn.Module):
        raise ModelSpecError(f"'{parsed.target}' returned {type(model).__name__}, not a torch.nn.Module")
    return Built(model, weights_sha256=apply_weights(model, parsed))


def build_checkpoint(parsed):
    """A file that records its architecture (``arch``, ``model_kwargs``), as ``robench train`` writes."""
    raw = weight_files.read_weights_file(parsed.target)
    arch = weight_files.recorded_arch(raw)
    if arch is None:
        raise ModelSpecError(
            f"checkpoint {parsed.target} does not record its architecture; say it: ARCH@{parsed.target}"
        )
    import timm

    model = timm.create_model(arch, pretrained=False, **_checkpoint_model_kwargs(raw))
    weight_files.load_weights(model, parsed.target)
    training = raw.get("training") if isinstance(raw.get("training"), dict) else None  # robench train's
    # the hash of the tensors, not of the file: a resumed run's checkpoint (other optimizer state,
    # other log) holding the same weights as an uninterrupted one is the same model
    from robench.models.wrap import state_dict_sha256

    return Built(model, state_dict_sha256=state_dict_sha256(model), training=training)


TIMM_SOURCE = ModelSource(build_timm, list_timm)
TORCHVISION_SOURCE = ModelSource(build_torchvision, list_torchvision)


def _checkpoint_model_kwargs(raw):
    kwargs = raw.get("model_kwargs") if isinstance(raw, dict) else None
    return dict(kwargs) if isinstance(kwargs, dict) else {}


def _unknown_model(spec, name, known):
    raise ModelSpecError(f"unknown model '{name}' in spec '{spec}'.{close_names(name, known)} "
                         "(`robench list models` lists them)")


def _default_weights(parsed):
    """What 'no @weights' means per source: timm/torchvision pretrained, factory code as built."""
    return "as-built" if parsed.source == FACTORY else "pretrained"
