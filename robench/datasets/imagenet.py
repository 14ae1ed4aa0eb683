"""Clean ImageNet-1k validation: ``<root>/<wnid>/*.JPEG`` (or ``<root>/val/<wnid>/*.JPEG``), or the official
flat files (the folder or ``ILSVRC2012_img_val.tar``) with the devkit or Kaggle's CSV (``imagenet_val``)."""
from robench.datasets import imagenet_val
from robench.datasets.base import Variant
from robench.datasets.declare import Column
from robench.datasets.hosted import HostedForms
from robench.datasets.suite import Suite

# ImageNet val as hosted: HF parquet (validation, ClassLabel names), timm's wds, CLIP_benchmark's (split test)
IMAGENET_VAL_HOSTED = HostedForms("val", hub_ids=("ILSVRC/imagenet-1k", "timm/imagenet-1k-wds",
                                                  "clip-benchmark/wds_imagenet1k"), split="validation")


class ImageNetSuite(Suite):
    name = "imagenet"
    title = "ImageNet"
    description = "ImageNet-1k validation (clean), resize + center crop, top-1/top-5"
    layout = "val/<wnid>/*.JPEG (50,000 images, 1000 classes)"
    folder_names = ("val",)
    n_official = 50_000
    generates_train_split = True
    hosted = IMAGENET_VAL_HOSTED
    columns = (Column("imagenet_top1", "ImageNet", True,
                      "top-1 accuracy (%) on the 50,000 ImageNet-1k validation images; resize + center crop with "
                      "the model's own crop_pct.", core=True, clean_reference=True),)

    archives = (imagenet_val.VAL_TAR,)
    accepted_forms = imagenet_val.FORMS
    label_file = None  # --labels FILE: the devkit or LOC_val_solution.csv when it is not beside the images

    def scan(self, root, select=None):
        source = imagenet_val.val_source(root, self.layout, label_file=self.label_file)
        variants = [Variant("imagenet/val", source, n_official=self.n_official, info={})]
        return self.select_variants(variants, select) if select else variants

    def write_generated(self, out, **options):
        return write_imagenet(out, **options)


def write_imagenet(out, *, n_classes=10, per_class=5, size=64, seed=0, train_per_class=0):
    """Clean ImageNet layout of the colour code (robench.datasets.colour_code): ``out/val/<wnid>/*.JPEG``
    and, with ``train_per_class``, a train split ``out/train/<wnid>/*.JPEG`` of other images of the same
    classes; returns the number of images."""
    import os

    from robench.datasets.colour_code import choose_classes, mark_generated, write_class_folders

    labels = choose_classes(n_classes, seed)
    n = write_class_folders(os.path.join(out, "val"), labels, per_class, seed=seed, size=size)
    if train_per_class:
        n += write_class_folders(os.path.join(out, "train"), labels, train_per_class, seed=seed + 10_000,
                                 size=size, name_prefix="ILSVRC2012_train")
    mark_generated(out, size=size, seed=seed)
    return n
