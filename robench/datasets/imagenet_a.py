"""ImageNet-A (Hendrycks et al., 2021): natural adversarial examples of 200 classes,
``<root>/imagenet-a/<wnid>/*.jpg``, 7,500 images; resize + center crop; scored over its 200 classes.
``imagenet-val-a200`` is the clean twin (ImageNet val, the same 200 classes, scored 200-way)."""
from robench.datasets.declare import Column
from robench.datasets.subset200 import CleanSubsetSuite, Subset200Suite


class ImageNetASuite(Subset200Suite):
    name = "imagenet-a"
    title = "ImageNet-A"
    description = "ImageNet-A natural adversarial examples, resize + center crop; top-1 over its 200 classes"
    layout = "imagenet-a/<wnid>/*.jpg (7,500 images, 200 classes)"
    label_subset = "imagenet_a"
    folder_names = ("imagenet-a",)
    companion = "imagenet-val-a200"
    n_official = 7_500
    columns = (Column("imagenet_a_top1", "ImageNet-A", True,
                      "top-1 accuracy (%) on the ImageNet-A natural adversarial examples (about 7,500 images), "
                      "logits restricted to its 200 classes; resize + center crop.",
                      plot_label="ImageNet-A", plot_marker="v"),)

    def write_generated(self, out, **options):
        from robench.datasets import synth

        return synth.write_imagenet_a(out, **options)


class ImageNetValA200Suite(CleanSubsetSuite):
    name = "imagenet-val-a200"
    title = "ImageNet val (A-200)"
    description = "ImageNet val restricted to ImageNet-A's 200 classes, scored 200-way (clean twin of imagenet-a)"
    layout = "val/<wnid>/*.JPEG (ImageNet val; only the 200 ImageNet-A classes are read: 10,000 images)"
    label_subset = "imagenet_a"
    columns = (Column("imagenet_val_a200_top1", "ImageNet val (A-200)", True,
                      "top-1 accuracy (%) on the ImageNet-1k validation images of ImageNet-A's 200 classes, "
                      "logits restricted to them: the clean baseline for ImageNet-A."),)
