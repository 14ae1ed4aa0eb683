"""Clean ImageNet-1k validation: ``<root>/<wnid>/*.JPEG`` (or ``<root>/val/<wnid>/*.JPEG``)."""
from robench.datasets.base import Suite, Variant, scan_wnid_folders
from robench.datasets.suite_helpers import find_data_dir


def find_val_dir(root):
    """Accept either the val folder itself or its parent (``root/val``)."""
    return find_data_dir(root, ["val"])


class ImageNetSuite(Suite):
    name = "imagenet"
    description = "ImageNet-1k validation (clean), resize + center crop, top-1/top-5"
    layout = "val/<wnid>/*.JPEG (50,000 images, 1000 classes)"
    n_expected = 50_000

    def scan(self, root, select=None):
        source = scan_wnid_folders(find_val_dir(root), what=self.layout)
        variants = [Variant("imagenet/val", source, n_expected=self.n_expected, info={})]
        return self.select_variants(variants, select) if select else variants
