"""ImageNet-R (Hendrycks et al., 2021): renditions (art, cartoons, sculptures, ...) of 200 classes,
``<root>/imagenet-r/<wnid>/*.jpg``, 30,000 images; resize + center crop; scored over its 200 classes.
``imagenet-val-r200`` is the clean twin (ImageNet val, the same 200 classes, scored 200-way)."""
from robench.datasets.subset200 import CleanSubsetSuite, Subset200Suite


class ImageNetRSuite(Subset200Suite):
    name = "imagenet-r"
    description = "ImageNet-R renditions, resize + center crop; top-1 over its 200 classes"
    layout = "imagenet-r/<wnid>/*.jpg (30,000 images, 200 classes)"
    label_subset = "imagenet_r"
    folder_names = ("imagenet-r",)
    clean_suite = "imagenet-val-r200"
    n_expected = 30_000


class ImageNetValR200Suite(CleanSubsetSuite):
    name = "imagenet-val-r200"
    description = "ImageNet val restricted to ImageNet-R's 200 classes, scored 200-way (clean twin of imagenet-r)"
    layout = "val/<wnid>/*.JPEG (ImageNet val; only the 200 ImageNet-R classes are read: 10,000 images)"
    label_subset = "imagenet_r"
