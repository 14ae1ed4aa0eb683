"""Training recipes as named, frozen presets.

A recipe holds every number that changes what a training run computes (optimiser, schedule,
augmentation, regularisation, batch size, precision), so that two runs with equal recipes are
the same experiment. It is saved with each run (``RUN_DIR/recipe.json``) and inside every
checkpoint. ``deit-300ep`` is the recipe of "Can CNNs Be More Robust Than Transformers?" (the DeiT
recipe as the paper's TRAIN.md runs it); anything else is not the paper's recipe, and result
records say so (see ``training_info``). Presets live in ``RECIPES``, a ``robench.registry.Registry``:
``RECIPES.register(recipe.name, recipe)`` adds one.
"""
import dataclasses
from dataclasses import dataclass
from typing import Optional, Tuple

from robench.errors import RobenchError
from robench.registry import Registry, close_names


@dataclass(frozen=True)
class Recipe:
    name: str
    epochs: int = 300
    global_batch: int = 1024  # images per optimiser step over all devices (paper: 8 x 128)
    lr_base: float = 5e-4  # peak lr per 512 images of global batch; peak lr = lr_base * global_batch / 512
    lr_base_size: int = 512
    opt: str = "adamw"
    opt_eps: float = 1e-8
    weight_decay: float = 0.05  # timm leaves biases and 1-D params (norms) without decay
    sched: str = "cosine"  # updated once per epoch
    warmup_epochs: int = 5
    warmup_lr: float = 1e-6
    min_lr: float = 1e-5
    cooldown_epochs: int = 0
    input_size: int = 224
    train_interpolation: str = "bicubic"
    scale: Tuple[float, float] = (0.08, 1.0)  # random-resized-crop area range
    ratio: Tuple[float, float] = (3 / 4, 4 / 3)
    hflip: float = 0.5
    color_jitter: Optional[float] = 0.4  # DeiT's value; timm turns colour jitter off under RandAugment
    auto_augment: Optional[str] = "rand-m9-mstd0.5-inc1"
    reprob: float = 0.25  # random erasing
    remode: str = "pixel"
    recount: int = 1
    mixup: float = 0.8
    cutmix: float = 1.0
    mixup_prob: float = 1.0
    mixup_switch_prob: float = 0.5
    mixup_mode: str = "batch"
    smoothing: float = 0.1
    repeated_aug: int = 3  # each image 3x per epoch, the copies on different devices (DeiT's RASampler)
    drop_path: float = 0.1
    precision: str = "fp32"  # fp32 | bf16 | fp16 (autocast; fp16 adds a grad scaler)
    clip_grad: Optional[float] = None
    ema: bool = False
    ema_decay: float = 0.99996

    @property
    def uses_mixup(self):
        return self.mixup > 0 or self.cutmix > 0

    def peak_lr(self, global_batch=None):
        """The linearly scaled peak learning rate for ``global_batch`` (default: the recipe's)."""
        return self.lr_base * (global_batch or self.global_batch) / self.lr_base_size

    def to_json(self):
        return {f.name: (list(v) if isinstance(v, tuple) else v)
                for f, v in ((f, getattr(self, f.name)) for f in dataclasses.fields(self))}


PAPER = "deit-300ep"

RECIPES = Registry("recipe")
# The paper's recipe, exactly (Wang et al., ICLR 2023, Appendix; github.com/UCSC-VLAA/RobustCNN).
RECIPES.register(PAPER, Recipe(name=PAPER))
# Minutes on a CPU with the generated data (robench data synth): a tiny model at 64 px.
# RandAugment, mixup/cutmix and erasing are off because the generated classes are colours
# that those augmentations repaint; the rest of the machinery is the same.
RECIPES.register("demo", Recipe(
    name="demo", epochs=6, global_batch=32, lr_base=3.2e-2, warmup_epochs=1, warmup_lr=1e-5,
    min_lr=1e-5, input_size=64, scale=(0.25, 1.0), color_jitter=None, auto_augment=None,
    reprob=0.0, mixup=0.0, cutmix=0.0, repeated_aug=1, drop_path=0.0))


def recipe_names():
    return sorted(RECIPES.names())


def get_recipe(name):
    """The preset called ``name``; a typo gets the closest names suggested (a RegistryError)."""
    return RECIPES.get(name)


def find_recipe(name):
    """The preset called ``name``, or None: a run's recipe may be a preset's name or its own."""
    return RECIPES.get(name) if name in RECIPES else None


def with_overrides(recipe, overrides):
    """A copy of ``recipe`` with fields replaced; values given as text are parsed by field type, and
    every field of the result is checked by its type and range (``recipe_checks``) before any step."""
    from robench.train.recipe_checks import ALIASES, check

    fields = [f.name for f in dataclasses.fields(recipe) if f.name != "name"]
    changes = {}
    for key, value in overrides.items():
        if value is None:
            continue
        if key not in fields:
            hint = f" Did you mean {ALIASES[key]}?" if ALIASES.get(key) in fields else close_names(key, fields)
            raise RobenchError(f"recipe has no field '{key}'.{hint} Fields: {', '.join(sorted(fields))}")
        changes[key] = _parse(key, value, getattr(recipe, key)) if isinstance(value, str) else value
    return check(dataclasses.replace(recipe, **changes), given=overrides)


def _parse(key, text, current):
    """Text from ``--set key=value`` -> a value of the same kind as the preset's."""
    text = text.strip()
    if text.lower() in ("none", "null", "off", ""):
        return None
    try:
        if isinstance(current, bool):
            if text.lower() not in ("true", "false", "1", "0", "yes", "no", "on"):
                raise ValueError(text)
            return text.lower() in ("true", "1", "yes", "on")
        if isinstance(current, tuple):
            return tuple(float(p) for p in text.strip("()[]").split(","))
        if isinstance(current, int):
            number = float(text)
            if not number.is_integer():
                raise ValueError(text)  # 2.5 epochs is not 2
            return int(number)
        if isinstance(current, float) or key in ("clip_grad", "color_jitter"):
            return float(text)
    except ValueError:
        from robench.train.recipe_checks import RecipeError

        raise RecipeError(f"--set {key}={text} is not valid (expected a value like {current!r})") from None
    return text


def differences(recipe, base):
    """Fields (other than the name) where ``recipe`` differs from ``base``: {field: [base, recipe]}."""
    a, b = base.to_json(), recipe.to_json()
    return {k: [a[k], b[k]] for k in a if k != "name" and a[k] != b[k]}


RA_ACROSS_DEVICES = "copies on different devices"  # DeiT's RASampler with world >= repeats, as the paper ran
RA_OFF_BELOW_WORLD = "off: fewer devices than repeats"  # robench turns it off (the copies would share a device)
RA_NONE = "off"  # the recipe has no repeated augmentation


def repeated_aug_regime(recipe, world):
    """How repeated augmentation runs at ``world`` devices. DeiT's sampler deals an image's copies to
    consecutive ranks, so they land on different devices only when there are at least as many devices as
    copies; below that, copies of one image would share a device batch (all of them at world 1), another
    regime than the paper's, so robench turns repeated augmentation off there and records it."""
    if recipe.repeated_aug <= 1:
        return RA_NONE
    return RA_ACROSS_DEVICES if world >= recipe.repeated_aug else RA_OFF_BELOW_WORLD


def training_info(recipe, epochs_done, world=None):
    """The ``training`` section of a result record. ``paper_recipe`` is true only for a run of the
    paper's preset, unchanged in every number, trained for all its epochs, with repeated augmentation
    as the paper ran it (the copies of an image on different devices: ``world`` >= its repeats)."""
    preset = find_recipe(recipe.name)
    changed = differences(recipe, preset) if preset else None
    regime = repeated_aug_regime(recipe, world if world is not None else recipe.repeated_aug)
    return {
        "recipe": recipe.name,
        "epochs": epochs_done,
        "epochs_planned": recipe.epochs,
        "paper_recipe": bool(recipe.name == PAPER and changed == {} and epochs_done == recipe.epochs
                             and regime != RA_OFF_BELOW_WORLD),
        "overrides": changed,
        "global_batch": recipe.global_batch,
        "peak_lr": recipe.peak_lr(),
        "world_size": world,
        "repeated_aug": {"repeats": recipe.repeated_aug, "regime": regime},
    }
