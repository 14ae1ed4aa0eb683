"""Suites over a 200-class subset of ImageNet-1k (ImageNet-R, ImageNet-A) and their clean twins.

Scoring restricts the logits to the subset's 200 columns (robench.engine.scoring, via
``label_subset``), so a model is never wrong for preferring a class the data set cannot contain.
A fair "how much does the model lose" needs the clean accuracy under the same 200-way scoring,
which a 1000-way ImageNet record cannot give; hence each subset has a clean twin suite
(``imagenet-val-r200``, ``imagenet-val-a200``: ImageNet val restricted to the 200 classes, scored
200-way). The twin is the subset suite's companion: ``clean_subset_top1`` is joined at report time
from the two records of the same model, whichever was evaluated first.

Papers report these suites both ways, masked to the 200 classes and 1000-way (argmax over every
class, a prediction outside the 200 being wrong), and the two are often confused. Records of these
suites carry both (``top1`` and ``top1_1000way``, robench.metrics.top1_all_classes), and each suite's
leaderboard section shows them side by side in a detail table; the main table keeps the masked one.
"""
from dataclasses import replace

from robench.datasets import imagenet_val
from robench.datasets.base import Variant, scan_wnid_folders
from robench.datasets.imagenet import IMAGENET_VAL_HOSTED
from robench.datasets.trees import suite_tree
from robench.datasets.suite import Suite, top1_fraction
from robench.errors import DatasetLayoutError
from robench.labels import label_of, subset_indices, wnid_to_index


def subset_label_for(subset, suite_name):
    """A ``label_for`` that accepts only the wnids of a 200-class subset (R or A)."""
    allowed = set(subset_indices(subset))

    def label_for(wnid, where):
        label = label_of(wnid, where)
        if label not in allowed:
            raise DatasetLayoutError(f"{where}: {wnid} is not one of the 200 {suite_name} classes "
                                     f"(timm's {subset}_synsets.txt); is this the right data set?")
        return label

    return label_for


def pooled_percent(record, field, metric):
    """100 x the state ``field`` summed over the record's variants / their images (exact: counts), or,
    for a record without states, the ``metric`` of its only variant; None when it holds neither."""
    variants = record.get("variants") or []
    states = [v.get("state") or {} for v in variants]
    if states and all(field in s and "n" in s for s in states):
        n = sum(s["n"] for s in states)
        return 100.0 * sum(s[field] for s in states) / n if n else None
    if len(variants) == 1:
        return (variants[0].get("metrics") or {}).get(metric)
    return None


def both_ways_table(suite, rows):
    """The DetailTable "<title>: 200-class vs 1000-way top-1" for (label, record, joined) rows; none
    when no record holds the 1000-way number (records made before it existed)."""
    import pandas as pd

    from robench.datasets.declare import DetailTable

    table = []
    for label, record, _ in sorted(rows, key=lambda r: r[0]):
        masked = pooled_percent(record, "correct1", "top1")
        full = pooled_percent(record, "correct1_1000way", "top1_1000way")
        gap = None if masked is None or full is None else masked - full
        table.append({"Model": label, "top-1, 200 classes (masked) ↑": masked, "top-1, 1000-way ↑": full,
                      "difference (points)": gap})
    if not any(row["top-1, 1000-way ↑"] is not None for row in table):
        return []
    intro = (f"Top-1 (%) on {suite.display_name} scored both ways. *200 classes (masked)*: the logits are "
             f"restricted to the suite's 200 classes before the argmax (Hendrycks et al.'s protocol; the "
             f"main table's number, `top1` in records). *1000-way*: the argmax over all 1000 ImageNet "
             f"classes, so a prediction outside the 200 is wrong (`top1_1000way` in records). Published "
             f"numbers use either and are often confused (pytorch-image-models issue 2456, "
             f"hendrycks/natural-adv-examples PR 15): compare like with like. – means the record predates "
             f"the 1000-way metric.")
    return [DetailTable(f"{suite.display_name}: 200-class vs 1000-way top-1", intro, pd.DataFrame(table),
                        text_columns=1, lower_is_better=None)]


class Subset200Suite(Suite):
    """ImageNet-R or -A: ``<root>/<folder>/<wnid>/*`` with only the subset's wnids."""

    n_classes = 200

    def scan(self, root, select=None):
        source = scan_wnid_folders(suite_tree(self, root), label_for=subset_label_for(self.label_subset, self.name),
                                   what=self.layout)
        variants = [Variant(f"{self.name}/all", source, n_official=self.n_official)]
        return self.select_variants(variants, select) if select else variants

    def detail_tables(self, rows):
        return both_ways_table(self, rows)

    def joined(self, record, companion):
        accuracy = None if companion is None else top1_fraction(companion["variants"][0])
        return {"clean_subset_top1": None if accuracy is None else 100.0 * accuracy}

    @property
    def joined_definitions(self):
        return {"clean_subset_top1": (
            f"top-1 (%) of the same model on ImageNet val images of the same 200 classes, scored 200-way "
            f"like {self.name} (its {self.companion} record, joined at report time); null when there is none")}


class CleanSubsetSuite(Suite):
    """ImageNet val restricted to a 200-class subset, scored 200-way: the clean reference for R or A."""

    data_dir = "imagenet"  # its data is ImageNet val: under a data directory, DIR/imagenet
    n_classes = 200
    n_official = 10_000  # 50 val images x 200 classes
    folder_names = ("val",)
    hosted = replace(IMAGENET_VAL_HOSTED, outside_subset="drop")  # ImageNet val's forms, the 200 classes kept
    archives = (imagenet_val.VAL_TAR,)
    accepted_forms = imagenet_val.FORMS
    label_file = None  # --labels FILE, as for imagenet

    def scan(self, root, select=None):
        allowed, table = set(subset_indices(self.label_subset)), wnid_to_index()
        try:
            source = imagenet_val.val_source(root, self.layout, keep=lambda w: table.get(w) in allowed,
                                             label_file=self.label_file)
        except DatasetLayoutError as e:
            if "no class folders" not in str(e) and "no images of the classes read" not in str(e):
                raise
            raise DatasetLayoutError(f"{root} has no images in the class folders of the {self.label_subset} "
                                     f"subset (expected {self.layout})") from None
        variants = [Variant(f"{self.name}/val", source, n_official=self.n_official)]
        return self.select_variants(variants, select) if select else variants

    def detail_tables(self, rows):
        return both_ways_table(self, rows)

    def write_generated(self, out, *, n_classes=10, per_class=5, size=64, seed=0, labels=None):
        """Clean ImageNet val layout (of the colour code) over the classes of the subset."""
        import os

        from robench.datasets.colour_code import choose_classes, mark_generated, write_class_folders

        labels = labels or choose_classes(n_classes, seed, among=subset_indices(self.label_subset))
        n = write_class_folders(os.path.join(out, "val"), labels, per_class, seed=seed, size=size)
        mark_generated(out, size=size, seed=seed)
        return n
