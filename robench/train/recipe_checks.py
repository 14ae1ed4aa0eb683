"""Every recipe field checked by its type and range before the first training step.

``robench train --set lr_base=nan`` used to be a traceback (some after training had started), and
``scale=1,0.2``, ``reprob=1.5`` or ``warmup_epochs=-3`` were accepted and trained on. Each field has one
rule here; ``check(recipe)`` names the first field that breaks its rule in one line, as eval's flags do.
The bounds follow what timm's transforms, optimisers and schedulers accept, and eval's own bounds for sizes.
"""
import math
from numbers import Real

from robench.errors import RobenchError

SCHEDULERS = ("cosine", "tanh", "step", "multistep", "plateau", "poly")  # timm.scheduler.create_scheduler_v2
INTERPOLATIONS = ("bilinear", "bicubic", "nearest", "lanczos", "box", "hamming", "random")  # timm transforms
AUTO_AUGMENT = ("rand", "augmix", "original", "v0", "3a")  # timm's auto_augment spec prefixes
# names people type for a field that has another name here
ALIASES = {"lr": "lr_base", "learning_rate": "lr_base", "wd": "weight_decay", "batch_size": "global_batch",
           "bs": "global_batch", "aa": "auto_augment", "warmup": "warmup_epochs", "label_smoothing": "smoothing",
           "drop_path_rate": "drop_path", "optimizer": "opt", "scheduler": "sched", "amp": "precision"}


class RecipeError(RobenchError):
    """A recipe field outside its type or range."""


def _number(value, integer=False):
    if isinstance(value, bool) or not isinstance(value, Real):
        return False
    if integer and not float(value).is_integer():
        return False
    return math.isfinite(value)


def _range(lo=None, hi=None, integer=False, lo_open=False, hi_open=False, optional=False):
    def rule(value):
        if value is None:
            return "" if optional else "a value (not none)"
        if not _number(value, integer):
            return "a whole number" if integer else "a finite number"
        if lo is not None and (value <= lo if lo_open else value < lo):
            return f"{'>' if lo_open else '>='} {lo}"
        if hi is not None and (value >= hi if hi_open else value > hi):
            return f"{'<' if hi_open else '<='} {hi}"
        return ""
    return rule


def _choice(options, optional=False):
    def rule(value):
        if value is None and optional:
            return ""
        return "" if value in options else f"one of {', '.join(options)}"
    return rule


def _pair(lo_open=True, hi=None):
    def rule(value):
        if not isinstance(value, (tuple, list)) or len(value) != 2 or not all(_number(v) for v in value):
            return "two finite numbers, e.g. 0.08,1.0"
        a, b = value
        if a <= 0 or b < a or (hi is not None and b > hi):
            return f"0 < first <= second{f' <= {hi}' if hi is not None else ''}"
        return ""
    return rule


def _optimizer(value):
    from timm.optim import list_optimizers

    return "" if isinstance(value, str) and value.lower() in list_optimizers() else \
        "a timm optimizer name (timm.optim.list_optimizers(), e.g. adamw, sgd, lamb)"


def _auto_augment(value):
    if value is None:
        return ""
    return "" if isinstance(value, str) and value.startswith(AUTO_AUGMENT) else \
        "none or a timm auto-augment spec (e.g. rand-m9-mstd0.5-inc1, augmix, original)"


def _flag(value):
    return "" if isinstance(value, bool) else "true or false"


def _text(value):
    return "" if isinstance(value, str) and value.strip() else "a name"


RULES = {
    "name": _text,
    "epochs": _range(1, integer=True),
    "global_batch": _range(1, integer=True),
    "lr_base": _range(0, lo_open=True),
    "lr_base_size": _range(1, integer=True),
    "opt": _optimizer,
    "opt_eps": _range(0, lo_open=True),
    "weight_decay": _range(0),
    "sched": _choice(SCHEDULERS),
    "warmup_epochs": _range(0, integer=True),
    "warmup_lr": _range(0),
    "min_lr": _range(0),
    "cooldown_epochs": _range(0, integer=True),
    "input_size": _range(16, 1024, integer=True),  # eval's --input-size bounds
    "train_interpolation": _choice(INTERPOLATIONS),
    "scale": _pair(hi=1.0),
    "ratio": _pair(),
    "hflip": _range(0, 1),
    "color_jitter": _range(0, optional=True),
    "auto_augment": _auto_augment,
    "reprob": _range(0, 1),
    "remode": _choice(("pixel", "rand", "const")),
    "recount": _range(1, integer=True),
    "mixup": _range(0),
    "cutmix": _range(0),
    "mixup_prob": _range(0, 1),
    "mixup_switch_prob": _range(0, 1),
    "mixup_mode": _choice(("batch", "pair", "elem")),
    "smoothing": _range(0, 1, hi_open=True),
    "repeated_aug": _range(1, integer=True),
    "drop_path": _range(0, 1, hi_open=True),
    "precision": _choice(("fp32", "bf16", "fp16")),
    "clip_grad": _range(0, lo_open=True, optional=True),
    "ema": _flag,
    "ema_decay": _range(0, 1, lo_open=True, hi_open=True),
}


def check(recipe, given=None):
    """Raises RecipeError naming the first field of ``recipe`` outside its rule; ``given`` (the --set
    values as typed) is quoted in the message when the field came from it."""
    import dataclasses

    for f in dataclasses.fields(recipe):
        value = getattr(recipe, f.name)
        rule = RULES.get(f.name)
        expected = rule(value) if rule else ""
        if expected:
            shown = (given or {}).get(f.name, value)
            raise RecipeError(f"recipe {recipe.name}: {f.name}={shown} is not valid (expected {expected})")
    return recipe
