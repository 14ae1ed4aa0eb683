"""Clean ImageNet-1k validation: ``<root>/<wnid>/*.JPEG`` (or ``<root>/val/<wnid>/*.JPEG``)."""
import os

from robench.datasets.base import Suite, Variant, scan_wnid_folders


def find_val_dir(root):
    """Accept either the val folder itself or its parent (``root/val``)."""
    val = os.path.join(root, "val")
    return val if os.path.isdir(val) else root


class ImageNetSuite(Suite):
    name = "imagenet"
    description = "ImageNet-1k validation (clean), resize + center crop, top-1/top-5"
    layout = "val/<wnid>/*.JPEG (50,000 images, 1000 classes)"
    n_expected = 50_000

    def scan(self, root, select=None):
        source = scan_wnid_folders(find_val_dir(root), what=self.layout)
        return [Variant("imagenet/val", source, n_expected=self.n_expected, info={})]
