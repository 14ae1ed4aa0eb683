"""What the leaderboard's columns are, where their numbers come from in a record, and what they mean.

One place defines each column: its id (also the column name in ``reported.csv``), its header, its
direction and its definition (rendered as a footnote). Suites are recognised by name, with aliases, so
that a record is placed in its column whatever spelling the suite registry settles on. A suite the
leaderboard does not know yet still gets a column (its top-1, or its mean error), never silently dropped.
"""
import re
from dataclasses import dataclass
from typing import Optional

PAPER_INPUT_SIZE = 224  # the benchmark protocol: models evaluated at 224 px


@dataclass(frozen=True)
class Column:
    id: str
    header: str
    higher_is_better: bool
    definition: str
    core: bool = False  # shown in every main table, even when empty


@dataclass(frozen=True)
class SuiteSpec:
    key: str  # canonical name used by the leaderboard
    aliases: tuple
    resize: bool  # benchmark protocol: resize + center crop (True) or images used as they are (False)


COLUMNS = [
    Column("imagenet_top1", "ImageNet", True,
           "top-1 accuracy (%) on the 50,000 ImageNet-1k validation images; resize + center crop with the "
           "model's own crop_pct.", core=True),
    Column("stylized_top1", "Stylized-ImageNet", True,
           "1000-way top-1 accuracy (%) on Stylized-ImageNet validation (AdaIN-stylised validation images, "
           "224 px, used without resize or crop, as in the paper).", core=True),
    Column("imagenet_c_mean_error", "ImageNet-C mean error", False,
           "unnormalised mean top-1 error (%) over the 15 benchmark corruptions x 5 severities of ImageNet-C "
           "(released 224 px JPEGs, no resize or crop). This is the number the paper reports as "
           "'ImageNet-C'; it is not the AlexNet-normalised mCE.", core=True),
    Column("imagenet_c_mce", "mCE", False,
           "ImageNet-C mean Corruption Error (%): for each of the 15 benchmark corruptions, the model's top-1 "
           "error summed over the 5 severities divided by AlexNet's, then averaged over the corruptions "
           "(Hendrycks & Dietterich, 2019).", core=True),
    Column("imagenet_c_relative_mce", "relative mCE", False,
           "ImageNet-C relative mCE (%): like mCE, but on the increase of error over clean ImageNet error "
           "(the model's and AlexNet's), averaged over the 15 corruptions; needs the model's clean error.",
           core=True),
    Column("imagenet_r_top1", "ImageNet-R", True,
           "top-1 accuracy (%) on the 30,000 ImageNet-R renditions, logits restricted to its 200 classes; "
           "resize + center crop.", core=True),
    Column("sketch_top1", "ImageNet-Sketch", True,
           "1000-way top-1 accuracy (%) on the 50,889 ImageNet-Sketch images; resize + center crop.", core=True),
    Column("imagenet_val_r200_top1", "ImageNet val (R-200)", True,
           "top-1 accuracy (%) on the ImageNet-1k validation images of ImageNet-R's 200 classes, logits "
           "restricted to them: the clean baseline for ImageNet-R's effective robustness."),
    Column("imagenet_a_top1", "ImageNet-A", True,
           "top-1 accuracy (%) on the ImageNet-A natural adversarial examples (about 7,500 images), logits "
           "restricted to its 200 classes; resize + center crop."),
    Column("imagenet_val_a200_top1", "ImageNet val (A-200)", True,
           "top-1 accuracy (%) on the ImageNet-1k validation images of ImageNet-A's 200 classes, logits "
           "restricted to them: the clean baseline for ImageNet-A."),
    Column("imagenet_v2_matched_frequency_top1", "V2 matched-frequency", True,
           "1000-way top-1 accuracy (%) on ImageNet-V2 MatchedFrequency (10,000 images); resize + center crop. "
           "Each ImageNet-V2 variant has its own column; this is the one usually quoted as 'ImageNet-V2'."),
    Column("imagenet_v2_threshold_0_7_top1", "V2 threshold-0.7", True,
           "1000-way top-1 accuracy (%) on ImageNet-V2 Threshold0.7 (10,000 images); resize + center crop."),
    Column("imagenet_v2_top_images_top1", "V2 top-images", True,
           "1000-way top-1 accuracy (%) on ImageNet-V2 TopImages (10,000 images); resize + center crop."),
]
COLUMN_BY_ID = {c.id: c for c in COLUMNS}

SUITES = [
    SuiteSpec("imagenet", ("imagenet", "imagenet-val", "imagenet-1k"), True),
    SuiteSpec("stylized-imagenet", ("stylized-imagenet", "stylized", "imagenet-stylized", "sin"), False),
    SuiteSpec("imagenet-c", ("imagenet-c",), False),
    SuiteSpec("imagenet-r", ("imagenet-r",), True),
    SuiteSpec("imagenet-sketch", ("imagenet-sketch", "sketch"), True),
    SuiteSpec("imagenet-a", ("imagenet-a",), True),
    SuiteSpec("imagenet-val-r200", ("imagenet-val-r200",), True),
    SuiteSpec("imagenet-val-a200", ("imagenet-val-a200",), True),
    SuiteSpec("imagenet-v2", ("imagenet-v2", "imagenetv2"), True),
]
_SUITE_BY_ALIAS = {alias: s for s in SUITES for alias in s.aliases}
_TOP1_COLUMN = {"imagenet": "imagenet_top1", "stylized-imagenet": "stylized_top1", "imagenet-r": "imagenet_r_top1",
                "imagenet-sketch": "sketch_top1", "imagenet-a": "imagenet_a_top1",
                "imagenet-val-r200": "imagenet_val_r200_top1", "imagenet-val-a200": "imagenet_val_a200_top1"}
_IMAGENET_C_COLUMNS = {"imagenet_c_mean_error": "mean_error", "imagenet_c_mce": "mce",
                       "imagenet_c_relative_mce": "relative_mce"}
_V2_COLUMNS = (("matched", "imagenet_v2_matched_frequency_top1"), ("threshold", "imagenet_v2_threshold_0_7_top1"),
               ("top", "imagenet_v2_top_images_top1"))


def suite_key(name):
    """Canonical leaderboard name of a suite: 'Sketch', 'imagenet_sketch' -> 'imagenet-sketch'."""
    normal = str(name).strip().lower().replace("_", "-")
    spec = _SUITE_BY_ALIAS.get(normal)
    return spec.key if spec else normal


def suite_spec(name) -> Optional[SuiteSpec]:
    return _SUITE_BY_ALIAS.get(suite_key(name))


def single_variant_suite(name):
    """Suites whose record must hold exactly one variant (its top-1 is the column)."""
    return suite_key(name) in _TOP1_COLUMN


def record_values(record):
    """{column id: value or None} for the numbers one record contributes to the main table."""
    suite = suite_key(record["suite"]["name"])
    variants = record["variants"]
    aggregates = record.get("aggregates") or {}
    if suite in _TOP1_COLUMN:
        return {_TOP1_COLUMN[suite]: variants[0]["metrics"].get("top1")}
    if suite == "imagenet-c":
        return {cid: aggregates.get(key) for cid, key in _IMAGENET_C_COLUMNS.items()}
    if suite == "imagenet-v2":
        return {_v2_column(v["name"]): v["metrics"].get("top1") for v in variants}
    return _generic_values(suite, variants, aggregates)


def column(column_id):
    """The Column of a known id, or a generic one for suites the leaderboard has no definition for."""
    if column_id in COLUMN_BY_ID:
        return COLUMN_BY_ID[column_id]
    suite, _, what = column_id.partition(":")
    if what == "mean_error":
        return Column(column_id, f"{suite} mean error", False,
                      f"mean top-1 error (%) over the variants of {suite}, as its record's aggregates give it.")
    label = suite if what == "top1" else f"{suite} {what}"
    return Column(column_id, label, True, f"top-1 accuracy (%) on {label} (a suite without a leaderboard "
                                          "definition yet: add one to robench/leaderboard/columns.py).")


def column_order(column_id):
    """Known columns in their fixed order, then the generic ones by id."""
    ids = list(COLUMN_BY_ID)
    return (0, ids.index(column_id), "") if column_id in COLUMN_BY_ID else (1, 0, column_id)


def _v2_column(variant_name):
    tail = re.sub(r"[^a-z0-9]", "", variant_name.rsplit("/", 1)[-1].lower())
    for marker, column_id in _V2_COLUMNS:
        if tail.startswith(marker):
            return column_id
    return f"imagenet-v2:{variant_name.rsplit('/', 1)[-1]}"


def _generic_values(suite, variants, aggregates):
    if isinstance(aggregates.get("mean_error"), (int, float)):
        return {f"{suite}:mean_error": aggregates["mean_error"]}
    if len(variants) == 1:
        return {f"{suite}:top1": variants[0]["metrics"].get("top1")}
    return {f"{suite}:{v['name'].rsplit('/', 1)[-1]}": v["metrics"].get("top1") for v in variants}
