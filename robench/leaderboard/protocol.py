"""Protocol keys: which records may share a column.

Two numbers sit in the same column only when they were measured the same way. A record's protocol key
lists, as sorted (aspect, value) pairs, every way in which it departs from the benchmark protocol the
columns define (224 px input, each suite's own resize rule, released ImageNet-C files, full test sets,
released or paper-recipe weights). The standard key is the empty tuple; every other key gets its own
section of the leaderboard, so a 2-epoch demo model or an in-memory ImageNet-C run never ranks beside
a paper-recipe model on the released data.
"""
import re

from robench.leaderboard.columns import PAPER_INPUT_SIZE, suite_key, suite_spec

STANDARD = ()
# (recipe, epochs) of the paper's 300-epoch DeiT recipe, for records without robench train's ``paper_recipe`` flag
PAPER_RECIPES = {("deit-300ep", 300), ("paper", 300)}
N_IMAGENET_C_CELLS = 15 * 5  # benchmark corruptions x severities

_PHRASES = {
    "weights": lambda v: "random weights (a floor for sanity checks, not a model)",
    "training": lambda v: f"trained by robench, {v.replace('=', ' ').replace(',', ', ')} (not the paper's "
                          "full 300-epoch recipe)",
    "input": lambda v: f"input resolution {v.replace('px', ' px')} (the benchmark: {PAPER_INPUT_SIZE} px)",
    "resize": lambda v: "{} evaluated with {}, unlike the benchmark".format(*v.split(":", 1)),
    "imagenet-c": lambda v: ("ImageNet-C corrupted in memory by imagecorruptions, not the released JPEGs"
                             if v == "generated" else f"ImageNet-C protocol '{v}', not the released JPEGs"),
    "data": lambda v: "evaluated on a subset of the test data",
    "reported": lambda v: f"reported under: {v}",
}


def protocol_key(record):
    """The sorted (aspect, value) pairs in which ``record`` departs from the benchmark protocol."""
    model, suite = record.get("model") or {}, record.get("suite") or {}
    parts = {}
    if model.get("weights") == "random":
        parts["weights"] = "random"
    training = _training(model)
    if training:
        parts["training"] = training
    size = _input_size(model)
    if size:
        parts["input"] = size
    spec = suite_spec(suite.get("name", ""))
    if spec is not None and isinstance(suite.get("resize"), bool) and suite["resize"] != spec.resize:
        parts["resize"] = f"{spec.key}:{'resize + center crop' if suite['resize'] else 'no resize or crop'}"
    generated = (record.get("aggregates") or {}).get("protocol")
    if suite_key(suite.get("name", "")) == "imagenet-c" and generated not in (None, "released"):
        parts["imagenet-c"] = str(generated)
    if _is_subset(record):
        parts["data"] = "subset"
    return tuple(sorted(parts.items()))


def reported_protocol_key(text):
    """Key of a reported.csv row: standard unless its 'protocol' cell describes a departure."""
    text = (text or "").strip()
    return (("reported", text),) if text else STANDARD


def describe(key):
    """Section title of a protocol key."""
    if key == STANDARD:
        return "Standard protocol"
    return "Separate protocol: " + "; ".join(_PHRASES.get(k, lambda v, k=k: f"{k} {v}")(v) for k, v in key)


def section_order(key):
    """Standard first, random weights last, the rest by how far they depart, then by name."""
    return (dict(key).get("weights") == "random", len(key), key)


def slug(key):
    """File-name-safe name of a protocol key, for plot files."""
    if key == STANDARD:
        return "standard"
    return re.sub(r"[^a-z0-9]+", "-", "-".join(f"{k}-{v}" for k, v in key).lower()).strip("-")


def _training(model):
    """None for released weights or a full, unmodified paper-recipe run; else what the run was.

    ``robench train`` writes ``model.training`` = {recipe, epochs, paper_recipe, overrides, ...}; a bare
    ``model.recipe``/``model.epochs`` is read too, for records made by other tools.
    """
    info = model.get("training") if isinstance(model.get("training"), dict) else model
    recipe, epochs = info.get("recipe"), info.get("epochs")
    if recipe is None and epochs is None:
        return None
    if info.get("paper_recipe") is True:
        return None
    if "paper_recipe" not in info and (str(recipe).lower(), epochs) in PAPER_RECIPES:
        return None
    modified = ",modified" if info.get("overrides") else ""
    return f"recipe={recipe}{modified},epochs={epochs if epochs is not None else '?'}"


def _input_size(model):
    size = (model.get("data_config") or {}).get("input_size")
    if not isinstance(size, (list, tuple)) or len(size) < 2:
        return None
    height, width = size[-2], size[-1]
    if (height, width) == (PAPER_INPUT_SIZE, PAPER_INPUT_SIZE):
        return None
    return f"{height}px" if height == width else f"{height}x{width}px"


def _is_subset(record):
    """True when fewer images (or ImageNet-C cells) were evaluated than the benchmark holds."""
    variants = record.get("variants") or []
    for v in variants:
        reference = v.get("n_reference")
        if isinstance(reference, int) and isinstance(v.get("n_expected"), int) and v["n_expected"] < reference:
            return True
    if suite_key((record.get("suite") or {}).get("name", "")) == "imagenet-c":
        benchmark = set((record.get("aggregates") or {}).get("corruption_error") or {})
        cells = {(v.get("corruption"), v.get("severity")) for v in variants if v.get("corruption") in benchmark}
        return len(cells) < N_IMAGENET_C_CELLS
    return False
