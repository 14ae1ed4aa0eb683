"""ImageNet-Sketch (Wang et al., 2019): ``<root>/sketch/<wnid>/*.JPEG`` (or ``<root>/<wnid>/...``).

50,889 images (count the files; the README says 50,000), 1000 classes, many of them grayscale:
decoding converts every image to RGB (robench.engine.data.decode_image). Resize + center crop
with the model's own config; 1000-way top-1.
"""
from robench.datasets.base import Variant, scan_wnid_folders
from robench.datasets.declare import Column
from robench.datasets.hosted import HostedForms
from robench.datasets.suite import Suite


class ImageNetSketchSuite(Suite):
    name = "imagenet-sketch"
    title = "ImageNet-Sketch"
    description = "ImageNet-Sketch (grayscale converted to RGB), resize + center crop; 1000-way top-1"
    layout = "sketch/<wnid>/*.JPEG (50,889 images, 1000 classes)"
    folder_names = ("sketch", "imagenet-sketch")
    archives = ("ImageNet-Sketch.zip",)  # as released: sketch/<wnid>/*.JPEG inside, read in place
    accepted_forms = ("sketch/<wnid>/*.JPEG or <wnid>/*.JPEG (extracted)", "ImageNet-Sketch.zip (read in place)")
    n_official = 50_889
    hosted = HostedForms("all", hub_ids=("imagenet_sketch", "songweig/imagenet_sketch",
                                         "clip-benchmark/wds_imagenet_sketch"), split="train")
    columns = (Column("sketch_top1", "ImageNet-Sketch", True,
                      "1000-way top-1 accuracy (%) on the 50,889 ImageNet-Sketch images; resize + center crop.",
                      core=True, plot_label="ImageNet-Sketch", plot_marker="^"),)

    def scan(self, root, select=None):
        from robench.datasets.trees import suite_tree

        source = scan_wnid_folders(suite_tree(self, root), what=self.layout)
        variants = [Variant(f"{self.name}/all", source, n_official=self.n_official)]
        return self.select_variants(variants, select) if select else variants

    def write_generated(self, out, *, n_classes=10, per_class=5, size=64, seed=0, labels=None):
        """``out/sketch/<wnid>/*.JPEG``, real grayscale (mode L) JPEGs of gray-coded classes."""
        import os

        from robench.datasets.colour_code import gray_coded_classes, mark_generated, write_styled

        labels = labels or gray_coded_classes(n_classes, seed)
        n = write_styled(os.path.join(out, "sketch"), labels, per_class, draw_sketch,
                         lambda l, j: (None, f"sketch_{l}_{j}"), seed=seed, size=size, ext=".JPEG", mode="L")
        mark_generated(out, size=size, seed=seed)
        return n


def draw_sketch(label, rng, size):
    """Stands in for a sketch: grayscale (one channel), gray level = class level, with thin strokes."""
    import numpy as np

    from robench.datasets.colour_code import colour_of

    level = float(np.mean(colour_of(label)))
    img = np.full((size, size, 1), level, np.float32) + rng.normal(0.0, 4.0, size=(size, size, 1))
    for _ in range(3):
        row = int(rng.integers(0, size))
        img[row, :, 0] += 30.0 if level < 128 else -30.0
    return img
