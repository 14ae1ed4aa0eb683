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

    def write_generated(self, out, **options):
        from robench.datasets import synth

        return synth.write_stylized(out, **options)
