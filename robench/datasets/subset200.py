"""Suites over a 200-class subset of ImageNet-1k (ImageNet-R, ImageNet-A) and their clean twins.

Scoring restricts the logits to the subset's 200 columns (robench.engine.scoring, via
``label_subset``), so a model is never wrong for preferring a class the data set cannot contain.
A fair "how much does the model lose" needs the clean accuracy under the same 200-way scoring,
which a 1000-way ImageNet record cannot give; hence each subset has a clean twin suite
(``imagenet-val-r200``, ``imagenet-val-a200``: ImageNet val restricted to the 200 classes, scored
200-way). When the twin's record of the same model is in the same output directory, the subset
suite's aggregates carry its top-1 as ``clean_subset_top1``; otherwise null, with a note.
"""
from robench.datasets.base import Suite, Variant, scan_wnid_folders
from robench.datasets.imagenet import find_val_dir
from robench.datasets.suite_helpers import (companion_record, find_data_dir, scan_subset_folders,
                                            subset_label_for, top1_fraction)


class Subset200Suite(Suite):
    """ImageNet-R or -A: ``<root>/<folder>/<wnid>/*`` with only the subset's wnids."""

    folder_names = ()  # accepted names of the data folder under the root
    clean_suite = ""  # the clean twin whose record gives clean_subset_top1
    n_classes = 200
    n_expected = None

    def scan(self, root, select=None):
        directory = find_data_dir(root, self.folder_names)
        source = scan_wnid_folders(directory, label_for=subset_label_for(self.label_subset, self.name),
                                   what=self.layout)
        variants = [Variant(f"{self.name}/all", source, n_expected=self.n_expected)]
        return self.select_variants(variants, select) if select else variants

    def aggregates(self, variant_metrics, context=None):
        record, note = companion_record(context, self.clean_suite)
        accuracy = top1_fraction(record["variants"][0]) if record is not None else None
        return {
            "clean_subset_top1": None if accuracy is None else 100.0 * accuracy,
            "clean_subset_suite": self.clean_suite,
            "definitions": {"clean_subset_top1": (
                f"top-1 (%) of the same model on ImageNet val images of the same 200 classes, scored "
                f"200-way like {self.name} (its {self.clean_suite} record); null when there is none")},
            "notes": [] if record is not None else [f"clean_subset_top1: {note}"],
        }


class CleanSubsetSuite(Suite):
    """ImageNet val restricted to a 200-class subset, scored 200-way: the clean reference for R or A."""

    n_classes = 200
    n_expected = 10_000  # 50 val images x 200 classes

    def scan(self, root, select=None):
        source = scan_subset_folders(find_val_dir(root), self.label_subset, self.layout)
        variants = [Variant(f"{self.name}/val", source, n_expected=self.n_expected)]
        return self.select_variants(variants, select) if select else variants
