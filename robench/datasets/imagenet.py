"""Clean ImageNet-1k validation: ``<root>/<wnid>/*.JPEG`` (or ``<root>/val/<wnid>/*.JPEG``)."""
from robench.datasets.base import Variant, find_data_dir, scan_wnid_folders
from robench.datasets.declare import Column
from robench.datasets.suite import Suite


def find_val_dir(root):
    """Accept either the val folder itself or its parent (``root/val``)."""
    return find_data_dir(root, ["val"])


class ImageNetSuite(Suite):
    name = "imagenet"
    title = "ImageNet"
    description = "ImageNet-1k validation (clean), resize + center crop, top-1/top-5"
    layout = "val/<wnid>/*.JPEG (50,000 images, 1000 classes)"
    folder_names = ("val",)
    n_official = 50_000
    generates_train_split = True
    columns = (Column("imagenet_top1", "ImageNet", True,
                      "top-1 accuracy (%) on the 50,000 ImageNet-1k validation images; resize + center crop with "
                      "the model's own crop_pct.", core=True, clean_reference=True),)

    def scan(self, root, select=None):
        source = scan_wnid_folders(find_val_dir(root), what=self.layout)
        variants = [Variant("imagenet/val", source, n_official=self.n_official, info={})]
        return self.select_variants(variants, select) if select else variants

    def write_generated(self, out, **options):
        from robench.datasets import synth

        return synth.write_imagenet(out, **options)
