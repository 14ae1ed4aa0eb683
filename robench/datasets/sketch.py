"""ImageNet-Sketch (Wang et al., 2019): ``<root>/sketch/<wnid>/*.JPEG`` (or ``<root>/<wnid>/...``).

50,889 images (count the files; the README says 50,000), 1000 classes, many of them grayscale:
decoding converts every image to RGB (robench.engine.data.decode_image). Resize + center crop
with the model's own config; 1000-way top-1.
"""
from robench.datasets.base import Variant, find_data_dir, scan_wnid_folders
from robench.datasets.declare import Column
from robench.datasets.suite import Suite


class ImageNetSketchSuite(Suite):
    name = "imagenet-sketch"
    title = "ImageNet-Sketch"
    description = "ImageNet-Sketch (grayscale converted to RGB), resize + center crop; 1000-way top-1"
    layout = "sketch/<wnid>/*.JPEG (50,889 images, 1000 classes)"
    folder_names = ("sketch", "imagenet-sketch")
    n_official = 50_889
    columns = (Column("sketch_top1", "ImageNet-Sketch", True,
                      "1000-way top-1 accuracy (%) on the 50,889 ImageNet-Sketch images; resize + center crop.",
                      core=True, plot_label="ImageNet-Sketch", plot_marker="^"),)

    def scan(self, root, select=None):
        source = scan_wnid_folders(find_data_dir(root, self.folder_names), what=self.layout)
        variants = [Variant(f"{self.name}/all", source, n_official=self.n_official)]
        return self.select_variants(variants, select) if select else variants

    def write_generated(self, out, **options):
        from robench.datasets import synth

        return synth.write_sketch(out, **options)
