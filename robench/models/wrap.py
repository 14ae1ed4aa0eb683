"""Models given as objects: spec strings, ``LoadedModel``s and plain ``torch.nn.Module``s, one form.

A module built in the caller's own code has no spec and no weights file, yet its record must still
say what was evaluated, and a rerun must find its slice results. So the record names its class
(``python:pkg.mod.Class``), its weights are "in-memory", ``weights_sha256`` is None (no file) and
``state_dict_sha256`` is a hash of its state dict: the same weights give the same measurement id
(resume works across processes), other weights never share a slice result. What is not in the
state dict (constructor arguments kept as plain attributes, code changes) is not in the hash: name
such variants apart (``name=``).
"""
import dataclasses
import hashlib
import numbers
import re

from robench.errors import ModelSpecError, RobenchError
from robench.models.loading import LoadedModel, load_model

IN_MEMORY = "in-memory"
DATA_KEYS = ("input_size", "crop_pct", "interpolation", "mean", "std", "crop_mode")
INTERPOLATIONS = ("bilinear", "bicubic", "nearest", "lanczos", "box", "hamming")
CROP_MODES = ("center", "squash", "border")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]")


def as_loaded_model(obj, name=None, data_config=None, spec=None):
    """``obj`` as a ``LoadedModel``: a spec string is loaded (``data_config`` as preprocessing
    overrides), a LoadedModel is kept (renamed when ``name`` is given), a ``torch.nn.Module`` is
    wrapped (and put in eval mode). ``name`` is the output name; ``spec`` is for modules only."""
    if name is not None:
        _check_name(name)
    if isinstance(obj, str):
        _refuse(spec is not None, "spec= is for torch.nn.Module objects; a spec string is its own spec")
        loaded = load_model(obj, **_checked_data_config(data_config))
    elif isinstance(obj, LoadedModel):
        _refuse(spec is not None or data_config is not None,
                "a LoadedModel already has its spec and data config; pass spec=/data_config= with a module")
        loaded = obj
    elif _is_module(obj):
        loaded = wrap_module(obj, data_config=data_config, spec=spec)
    else:
        raise ModelSpecError(f"cannot evaluate a {_type_name(obj)}: give a model spec string, a "
                             "robench.models.LoadedModel or a torch.nn.Module")
    return loaded if name is None or name == loaded.name else dataclasses.replace(loaded, name=name)


def wrap_module(module, data_config=None, spec=None):
    """A LoadedModel for an in-memory module: its name, data config, spec and state-dict hash."""
    module = unwrap(module)
    if spec is not None and (not isinstance(spec, str) or not spec.strip()):
        raise ModelSpecError(f"spec= must be a non-empty string, not {spec!r}")
    overrides = _checked_data_config(data_config)
    from robench.models.preprocess import resolve_config

    own = resolve_config(module)
    config = resolve_config(module, None, overrides)
    departures = {}
    if _has_own_config(module):  # a change to the module's own protocol is shown as an override
        departures = {k: (list(v) if isinstance(v, tuple) else v) for k, v in config.items() if own.get(k) != v}
    module.eval()
    return LoadedModel(spec or class_spec(module), module_name(module), module, config,
                       state_dict_sha256=state_dict_sha256(module), weights=IN_MEMORY,
                       preprocessing_overrides=departures or None)


def unwrap(module):
    """The model inside torch.compile / DataParallel / DistributedDataParallel wrappers."""
    import torch

    while True:
        if hasattr(module, "_orig_mod") and isinstance(module._orig_mod, torch.nn.Module):
            module = module._orig_mod
        elif isinstance(module, (torch.nn.DataParallel, torch.nn.parallel.DistributedDataParallel)):
            module = module.module
        else:
            return module


def state_dict_sha256(module):
    """sha256 of the module's state dict: every key (sorted), dtype, shape and the tensor bytes, on
    the CPU. Equal weights give equal digests in any process, on any device."""
    import torch

    digest = hashlib.sha256()
    state = module.state_dict()
    for key in sorted(state):
        value = state[key]
        digest.update(key.encode() + b"\0")
        if not isinstance(value, torch.Tensor):  # get_extra_state() values
            digest.update(f"extra:{value!r}\0".encode())
            continue
        tensor = value.detach()
        if tensor.is_quantized:
            tensor = tensor.dequantize()
        if tensor.layout != torch.strided:
            tensor = tensor.to_dense()
        tensor = tensor.cpu().contiguous().view(-1)
        digest.update(f"{tensor.dtype}{tuple(value.shape)}\0".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def module_name(module):
    """A file-safe output name: timm's architecture when the module has a timm config, else its class."""
    for attr in ("pretrained_cfg", "default_cfg"):
        cfg = getattr(module, attr, None)
        if isinstance(cfg, dict) and isinstance(cfg.get("architecture"), str) and cfg["architecture"].strip():
            return safe_name(cfg["architecture"])
    return safe_name(type(module).__name__)


def class_spec(module):
    cls = type(module)
    return f"python:{cls.__module__}.{cls.__qualname__}"


def safe_name(text):
    """``text`` lower-cased with every character outside ``[a-z0-9_.+-]`` made ``_``; never ``.``/``..``."""
    name = _UNSAFE.sub("_", text.strip().lower()).strip("_") or "model"
    return "model" if set(name) == {"."} else name


def _check_name(name):
    if not isinstance(name, str) or not name or _UNSAFE.search(name) or set(name) == {"."}:
        raise ModelSpecError(f"model name {name!r} cannot be a folder name: use letters, digits and _ . + - "
                             "(not only dots)")


def _checked_data_config(config):
    """``config`` validated and in resolve_config's form; {} for None."""
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise RobenchError(f"data_config must be a dict with keys from {', '.join(DATA_KEYS)}, "
                           f"not a {_type_name(config)}")
    unknown = sorted(set(config) - set(DATA_KEYS))
    if unknown:
        raise RobenchError(f"data_config has unknown key(s) {', '.join(map(str, unknown))}; "
                           f"known: {', '.join(DATA_KEYS)}")
    out = {k: v for k, v in config.items() if v is not None}
    problems = [f"{key}={out[key]!r} ({why})" for key, why in _DATA_CHECKS if key in out and not _ok(key, out[key])]
    if problems:
        raise RobenchError("data_config: " + "; ".join(problems))
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in out.items()}


_DATA_CHECKS = (
    ("input_size", "an int or (3, height, width) of positive ints"),
    ("crop_pct", "a number in (0, 1]"),
    ("interpolation", f"one of {', '.join(INTERPOLATIONS)}"),
    ("mean", "three numbers"),
    ("std", "three positive numbers"),
    ("crop_mode", f"one of {', '.join(CROP_MODES)}"),
)


def _ok(key, value):
    if key == "input_size":
        sizes = [value] if _is_int(value) else list(value) if isinstance(value, (list, tuple)) else []
        return (len(sizes) == 1 or (len(sizes) == 3 and sizes[0] == 3)) and all(_is_int(s) and s > 0 for s in sizes)
    if key == "crop_pct":
        return _is_real(value) and 0 < value <= 1
    if key in ("mean", "std"):
        ok = isinstance(value, (list, tuple)) and len(value) == 3 and all(_is_real(v) for v in value)
        return ok and (key == "mean" or all(v > 0 for v in value))
    return value in (INTERPOLATIONS if key == "interpolation" else CROP_MODES)


def _has_own_config(module):
    return bool(getattr(module, "pretrained_cfg", None) or getattr(module, "default_cfg", None))


def _is_module(obj):
    import torch

    return isinstance(obj, torch.nn.Module)


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _type_name(obj):
    cls = type(obj)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def _refuse(condition, message):
    if condition:
        raise ModelSpecError(message)
