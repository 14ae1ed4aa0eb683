"""Stylized-ImageNet val (Geirhos et al., 2019): ``<root>/<wnid>/*.png`` (or ``<root>/val/<wnid>/*.png``).

The images were stylized with AdaIN from ImageNet val after resize 256 + center crop 224, so they
are used as they are at 224 (``resize = False``); 1000-way top-1. Every image is checked to be
224x224 (an image of another size stops the run, naming it); models with another input size see
them resized, and the record says so.
"""
from robench.datasets.base import Variant, find_data_dir, scan_wnid_folders
from robench.datasets.declare import Column
from robench.datasets.suite import Suite


class StylizedImageNetSuite(Suite):
    name = "stylized-imagenet"
    title = "Stylized-ImageNet"
    description = "Stylized-ImageNet val (AdaIN), 224px as made, no resize; 1000-way top-1"
    layout = "<wnid>/*.png or val/<wnid>/*.png (50,000 images, 1000 classes, 224x224)"
    folder_names = ("val",)
    resize = False
    n_official = 50_000
    columns = (Column("stylized_top1", "Stylized-ImageNet", True,
                      "1000-way top-1 accuracy (%) on Stylized-ImageNet validation (AdaIN-stylised validation "
                      "images, 224 px, used without resize or crop, as in the paper).", core=True,
                      plot_label="Stylized-ImageNet", plot_marker="s"),)

    def scan(self, root, select=None):
        source = scan_wnid_folders(find_data_dir(root, self.folder_names), what=self.layout)
        variants = [Variant(f"{self.name}/val", source, n_official=self.n_official, resize=False,
                            stored_size=self.stored_size_of(root))]
        return self.select_variants(variants, select) if select else variants

    def write_generated(self, out, *, n_classes=10, per_class=5, size=224, seed=0, labels=None):
        """``out/<wnid>/*.png``, square (Stylized-ImageNet is 224x224 after crop), of the colour code."""
        from robench.datasets.colour_code import choose_classes, mark_generated, write_styled

        labels = labels or choose_classes(n_classes, seed)
        n = write_styled(out, labels, per_class, draw_stylized, lambda l, j: (None, f"ILSVRC2012_val_{l:04d}{j:04d}"),
                         seed=seed, size=size, ext=".png")
        mark_generated(out, size=size, seed=seed)
        return n


def draw_stylized(label, rng, size):
    """Stands in for AdaIN style transfer: the class colour under a strong, foreign, zero-mean texture."""
    import numpy as np

    from robench.datasets.colour_code import square_pixels

    img = square_pixels(label, rng, size)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    angle, period = rng.uniform(0, np.pi), rng.uniform(size / 12, size / 6)
    phase = rng.uniform(0, 2 * np.pi, size=3)
    theta = 2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle)) / period
    return img + 28.0 * np.sin(theta[..., None] + phase)
