"""ImageNet-Sketch (Wang et al., 2019): ``<root>/sketch/<wnid>/*.JPEG`` (or ``<root>/<wnid>/...``).

50,889 images (count the files; the README says 50,000), 1000 classes, many of them grayscale:
decoding converts every image to RGB (robench.engine.data.decode_image). Resize + center crop
with the model's own config; 1000-way top-1.
"""
from robench.datasets.base import Suite, Variant, scan_wnid_folders
from robench.datasets.suite_helpers import find_data_dir


class ImageNetSketchSuite(Suite):
    name = "imagenet-sketch"
    description = "ImageNet-Sketch (grayscale converted to RGB), resize + center crop; 1000-way top-1"
    layout = "sketch/<wnid>/*.JPEG (50,889 images, 1000 classes)"
    n_classes = 1000
    n_expected = 50_889

    def scan(self, root, select=None):
        directory = find_data_dir(root, ["sketch", "imagenet-sketch"])
        source = scan_wnid_folders(directory, what=self.layout)
        variants = [Variant(f"{self.name}/all", source, n_expected=self.n_expected)]
        return self.select_variants(variants, select) if select else variants
