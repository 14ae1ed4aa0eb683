"""Reading weights from local files: torch-saved dicts (weights only, no pickled code) and safetensors.

Released weight files wrap their weights (DeiT: ``model``; timm: ``state_dict`` and
``state_dict_ema``) and DDP-trained ones prefix keys with ``module.``: both are undone here.
"""
import os

from robench.errors import ModelSpecError
from robench.fileio import sha256_file

WRAPPER_KEYS = ("model", "state_dict", "state_dict_ema", "model_ema")


def read_weights_file(path):
    """The raw object stored at ``path`` (a dict), never executing pickled code."""
    if not os.path.isfile(path):
        raise ModelSpecError(f"checkpoint {path} does not exist")
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        try:
            return load_file(path, device="cpu")
        except Exception as e:  # SafetensorError (a damaged header, a truncated file) and OSError
            raise ModelSpecError(f"cannot read {path}: not a valid safetensors file "
                                 f"({' '.join(str(e).split())[:160]})") from None
    import pickle

    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "weights only" in str(e).lower() or "unsupported global" in str(e).lower():
            # torch's advice (weights_only=False) is what robench must never do with a stranger's file
            raise ModelSpecError(f"{path} is not a plain weights file (it holds pickled Python objects); robench "
                                 "will not execute code from it: save its state_dict (or use .safetensors)") from None
        raise ModelSpecError(f"cannot read checkpoint {path}: {' '.join(str(e).split())[:160]}") from None
    except Exception as e:  # truncated files, not a torch file: one clear line for the user
        raise ModelSpecError(f"cannot read checkpoint {path}: {type(e).__name__}: "
                             f"{' '.join(str(e).split())[:160]}") from None


def unwrap_state_dict(obj):
    """The tensor dict inside a (possibly wrapped, possibly ``module.``-prefixed) weights file."""
    if isinstance(obj, dict):
        for key in WRAPPER_KEYS:
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj:
        raise ModelSpecError("checkpoint holds no state dict (expected a dict of tensors)")
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in obj.items()}


def recorded_arch(obj):
    """The architecture name a weights file records (robench and timm training write ``arch``)."""
    if isinstance(obj, dict):
        arch = obj.get("arch")
        if isinstance(arch, str):
            return arch
    return None


def load_weights(model, path):
    """Loads ``path`` into ``model`` strictly; a mismatch names the missing/unexpected keys.
    Returns the file's sha256 (the record's ``weights_sha256``)."""
    state = unwrap_state_dict(read_weights_file(path))
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as e:  # shape mismatches
        raise ModelSpecError(f"checkpoint {path} does not fit the model: {str(e).splitlines()[-1].strip()}") from None
    if result.missing_keys or result.unexpected_keys:
        raise ModelSpecError(
            f"checkpoint {path} does not match the model: missing {_few(result.missing_keys)}, "
            f"unexpected {_few(result.unexpected_keys)}"
        )
    return sha256_file(path)


def _few(keys, n=4):
    keys = list(keys)
    return "none" if not keys else ", ".join(keys[:n]) + (f" (+{len(keys) - n} more)" if len(keys) > n else "")
