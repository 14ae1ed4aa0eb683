"""Stylized-ImageNet val (Geirhos et al., 2019): ``<root>/<wnid>/*.png`` (or ``<root>/val/<wnid>/*.png``).

The images were stylized with AdaIN from ImageNet val after resize 256 + center crop 224, so they
are used as they are at 224 (``resize = False``); 1000-way top-1. Models with another input size
see them resized, and the record says so.
"""
from robench.datasets.base import Suite, Variant, scan_wnid_folders
from robench.datasets.suite_helpers import as_stored_preprocessing, find_data_dir


class StylizedImageNetSuite(Suite):
    name = "stylized-imagenet"
    description = "Stylized-ImageNet val (AdaIN), 224px as made, no resize; 1000-way top-1"
    layout = "<wnid>/*.png or val/<wnid>/*.png (50,000 images, 1000 classes, 224x224)"
    resize = False
    n_classes = 1000
    n_expected = 50_000

    def scan(self, root, select=None):
        directory = find_data_dir(root, ["val"])
        source = scan_wnid_folders(directory, what=self.layout)
        variants = [Variant(f"{self.name}/val", source, n_expected=self.n_expected, resize=self.resize)]
        return self.select_variants(variants, select) if select else variants

    def aggregates(self, variant_metrics, context=None):
        return {"preprocessing": as_stored_preprocessing(context),
                "definitions": {"preprocessing": "how the 224x224 images reached the model (no crop; "
                                                 "resized only if the model's input size differs)"}}
