"""Protocol keys: which records may share a column.

Two numbers sit in the same column only when they were measured the same way. A record's protocol key
lists, as sorted (aspect, value) pairs, every way in which it departs from the benchmark protocol the
columns define: 224 px input with the model's own preprocessing (no --input-size/--crop-pct/
--interpolation overrides), fp32, each suite's own resize rule, the released data (not robench's
generated stand-ins), full test sets, and released or paper-recipe weights. A suite adds its own
departures (``Suite.departures``, e.g. fewer ImageNet-C cells than the benchmark). The standard key
is the empty tuple; every other key gets its own section of the leaderboard.
"""
import re

from robench.leaderboard.columns import PAPER_INPUT_SIZE, suite_key

STANDARD = ()
# (recipe, epochs) of the paper's 300-epoch DeiT recipe, for records without robench train's ``paper_recipe`` flag
PAPER_RECIPES = {("deit-300ep", 300), ("paper", 300)}

_PHRASES = {
    "weights": lambda v: "random weights (a floor for sanity checks, not a model)",
    "training": lambda v: f"trained by robench, {v.replace('=', ' ').replace(',', ', ')} (not the paper's "
                          "full 300-epoch recipe)",
    "input": lambda v: f"input resolution {v.replace('px', ' px')} (the benchmark: {PAPER_INPUT_SIZE} px)",
    "preprocessing": lambda v: f"preprocessing overridden ({v.replace(',', ', ')}), not the model's own",
    "precision": lambda v: f"{v} inference (the benchmark: fp32)",
    "resize": lambda v: "{} evaluated with {}, unlike the benchmark".format(*v.split(":", 1)),
    "origin": lambda v: ("generated stand-in data (robench data synth), not the released data sets"
                         if v == "generated" else f"data origin '{v}', not the released data sets"),
    "data": lambda v: "evaluated on a subset of the test data",
    "reported": lambda v: f"reported under: {v}",
}


def protocol_key(record):
    """The sorted (aspect, value) pairs in which ``record`` departs from the benchmark protocol."""
    from robench.datasets import find_suite

    model, suite_info = record.get("model") or {}, record.get("suite") or {}
    parts = {}
    if model.get("weights") == "random":
        parts["weights"] = "random"
    training = _training(model)
    if training:
        parts["training"] = training
    size = _input_size(model)
    if size:
        parts["input"] = size
    overrides = model.get("preprocessing_overrides") or {}
    if overrides:
        parts["preprocessing"] = ",".join(f"{k}={_plain(v)}" for k, v in sorted(overrides.items()))
    precision = (record.get("run") or {}).get("precision") or "fp32"
    if precision != "fp32":
        parts["precision"] = precision
    suite = find_suite(suite_key(suite_info.get("name", "")))
    if suite is not None and isinstance(suite_info.get("resize"), bool) and suite_info["resize"] != suite.resize:
        parts["resize"] = f"{suite.name}:{'resize + center crop' if suite_info['resize'] else 'no resize or crop'}"
    origin = suite_info.get("data_origin") or "released"
    if origin != "released":
        parts["origin"] = origin
    if _is_subset(record):
        parts["data"] = "subset"
    if suite is not None:
        parts.update(suite.departures(record))
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


def _plain(value):
    return "x".join(str(v) for v in value[-2:]) if isinstance(value, (list, tuple)) else str(value)


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
    """True when fewer images were evaluated than a variant of the released data holds."""
    for v in record.get("variants") or []:
        official, n = v.get("n_official"), v.get("n_images")
        if isinstance(official, int) and isinstance(n, int) and n < official:
            return True
    return False
