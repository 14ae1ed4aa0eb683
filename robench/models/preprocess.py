"""Evaluation preprocessing from a model's own data config (timm ``resolve_data_config``).

Images leave the CPU as uint8 (timm's prefetcher-style transform, ``use_prefetcher=True``) and
are normalised on the device: a quarter of the host-to-device bytes, and no float work per pixel
in the DataLoader workers. Models whose resize/crop agree share one decode and one transform.
"""
from robench.errors import RobenchError

PIXEL_KEYS = ("input_size", "interpolation", "crop_pct", "crop_mode")


def resolve_config(module, default_cfg=None, overrides=None):
    """The model's eval data config, with user overrides (input_size may be an int)."""
    from timm.data import resolve_data_config

    has_own = bool(getattr(module, "pretrained_cfg", None) or getattr(module, "default_cfg", None))
    base = resolve_data_config({}, model=module)  # timm's defaults when the model has no config
    if default_cfg and not has_own:
        base.update(default_cfg)
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key == "input_size" and isinstance(value, int):
            value = (3, value, value)
        if key not in ("input_size", "crop_pct", "interpolation", "mean", "std", "crop_mode"):
            raise RobenchError(f"unknown preprocessing override '{key}'")
        base[key] = tuple(value) if isinstance(value, list) else value
    return base


def pixel_key(config, resize=True):
    """What decides the pixels a model sees: models with equal keys share a data pipeline."""
    cfg = dict(config)
    if not resize:
        cfg["crop_pct"], cfg["crop_mode"] = 1.0, "center"
    return tuple((k, cfg.get(k)) for k in PIXEL_KEYS)


def build_transform(key):
    """PIL image -> uint8 CHW tensor, for a ``pixel_key``."""
    from timm.data import create_transform

    cfg = dict(key)
    return create_transform(input_size=cfg["input_size"], interpolation=cfg["interpolation"],
                            crop_pct=cfg["crop_pct"], crop_mode=cfg["crop_mode"], is_training=False,
                            use_prefetcher=True)


def normaliser(config, device):
    """(mean, std) tensors on ``device`` that turn a uint8 batch into the model's input."""
    import torch

    mean = torch.tensor(config["mean"], device=device).view(1, -1, 1, 1) * 255.0
    std = torch.tensor(config["std"], device=device).view(1, -1, 1, 1) * 255.0
    return mean, std
