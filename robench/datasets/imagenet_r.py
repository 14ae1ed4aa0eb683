"""ImageNet-R (Hendrycks et al., 2021): renditions (art, cartoons, sculptures, ...) of 200 classes,
``<root>/imagenet-r/<wnid>/*.jpg``, 30,000 images; resize + center crop; scored over its 200 classes.
``imagenet-val-r200`` is the clean twin (ImageNet val, the same 200 classes, scored 200-way)."""
from robench.datasets.declare import Column
from robench.datasets.subset200 import CleanSubsetSuite, Subset200Suite


class ImageNetRSuite(Subset200Suite):
    name = "imagenet-r"
    title = "ImageNet-R"
    description = "ImageNet-R renditions, resize + center crop; top-1 over its 200 classes"
    layout = "imagenet-r/<wnid>/*.jpg (30,000 images, 200 classes)"
    label_subset = "imagenet_r"
    folder_names = ("imagenet-r",)
    companion = "imagenet-val-r200"
    n_official = 30_000
    columns = (Column("imagenet_r_top1", "ImageNet-R", True,
                      "top-1 accuracy (%) on the 30,000 ImageNet-R renditions, logits restricted to its 200 "
                      "classes; resize + center crop.", core=True, plot_label="ImageNet-R", plot_marker="o"),)

    def write_generated(self, out, **options):
        from robench.datasets import synth

        return synth.write_imagenet_r(out, **options)


class ImageNetValR200Suite(CleanSubsetSuite):
    name = "imagenet-val-r200"
    title = "ImageNet val (R-200)"
    description = "ImageNet val restricted to ImageNet-R's 200 classes, scored 200-way (clean twin of imagenet-r)"
    layout = "val/<wnid>/*.JPEG (ImageNet val; only the 200 ImageNet-R classes are read: 10,000 images)"
    label_subset = "imagenet_r"
    columns = (Column("imagenet_val_r200_top1", "ImageNet val (R-200)", True,
                      "top-1 accuracy (%) on the ImageNet-1k validation images of ImageNet-R's 200 classes, "
                      "logits restricted to them: the clean baseline for ImageNet-R's effective robustness."),)
