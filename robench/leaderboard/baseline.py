"""The declared baseline set of the effective-robustness fit: which published models define "the trend".

Taori et al. fit the trend over standard models, trained on ImageNet-1k alone without robustness
interventions; a model trained on more data or with an intervention is what effective robustness is
meant to *measure*, so it must not define the line. robench's default set is a rule over timm's model
names, read from the pretrained tag after the '.' (``resnet50.a1_in1k`` -> ``a1``, ``in1k``): timm's
rows at the standard protocol (224 px, the model's own preprocessing) whose tag holds the token
``in1k`` and none of the tokens below. The rule, and how many models it selects, is printed on the page.
A timm row that took another source's cells (``attach.py``: model-vs-human's shape bias on
``resnet50.tv_in1k``) is still timm's row: the rule reads a row's first source.
"""
from robench.leaderboard.attach import primary_source
from robench.leaderboard.protocol import STANDARD

BASELINE_SOURCE = "timm"
EXCLUDED_TAGS = {
    "other or more training data": ("in21k", "in22k", "in12k", "ig1b", "swsl", "ssl", "yfcc100m", "jft", "ns",
                                    "swag", "laion2b", "laiona", "openai", "clip", "webli", "m30m", "m38m",
                                    "seer", "ssld", "6m", "lvd142m"),
    "pre-training, then fine-tuning": ("ft", "mim", "mae", "fcmae", "dino", "lc"),
    "adversarial training or a robustness augmentation": ("ap", "adv", "ens", "am"),
}
_EXCLUDED = frozenset(t for tags in EXCLUDED_TAGS.values() for t in tags)


def is_baseline_name(model):
    """True when a timm model name's pretrained tag says ImageNet-1k only, without the tags above."""
    tokens = str(model).partition(".")[2].split("_")
    return "in1k" in tokens and not _EXCLUDED.intersection(tokens)


def baseline_mask(frame):
    """Boolean Series over a ``tables.main_rows`` frame: the rows of the default baseline set."""
    return ((frame["kind"] == 2) & (frame["source"].map(primary_source) == f"reported: {BASELINE_SOURCE}")
            & frame["section"].map(lambda key: key == STANDARD) & frame["model"].map(is_baseline_name))


def describe_rule():
    """The rule in one sentence (markdown-safe: tags in backticks)."""
    groups = "; ".join(f"{what}: {', '.join(f'`{t}`' for t in tags)}" for what, tags in EXCLUDED_TAGS.items())
    return (f"{BASELINE_SOURCE}'s imported rows at the standard protocol (224 px, the model's own preprocessing) "
            "whose pretrained tag (the part of the name after the '.', split at '_') holds `in1k` and none of "
            f"the tags that name {groups}")
