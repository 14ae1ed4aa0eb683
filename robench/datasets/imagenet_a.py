"""ImageNet-A (Hendrycks et al., 2021): natural adversarial examples of 200 classes,
``<root>/imagenet-a/<wnid>/*.jpg``, 7,500 images; resize + center crop; scored over its 200 classes.
``imagenet-val-a200`` is the clean twin (ImageNet val, the same 200 classes, scored 200-way)."""
from robench.datasets.subset200 import CleanSubsetSuite, Subset200Suite


class ImageNetASuite(Subset200Suite):
    name = "imagenet-a"
    description = "ImageNet-A natural adversarial examples, resize + center crop; top-1 over its 200 classes"
    layout = "imagenet-a/<wnid>/*.jpg (7,500 images, 200 classes)"
    label_subset = "imagenet_a"
    folder_names = ("imagenet-a",)
    clean_suite = "imagenet-val-a200"
    n_expected = 7_500


class ImageNetValA200Suite(CleanSubsetSuite):
    name = "imagenet-val-a200"
    description = "ImageNet val restricted to ImageNet-A's 200 classes, scored 200-way (clean twin of imagenet-a)"
    layout = "val/<wnid>/*.JPEG (ImageNet val; only the 200 ImageNet-A classes are read: 10,000 images)"
    label_subset = "imagenet_a"
