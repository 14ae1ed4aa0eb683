"""ImageNet-R (Hendrycks et al., 2021): renditions (art, cartoons, sculptures, ...) of 200 classes,
``<root>/imagenet-r/<wnid>/*.jpg``, 30,000 images; resize + center crop; scored over its 200 classes.
``imagenet-val-r200`` is the clean twin (ImageNet val, the same 200 classes, scored 200-way)."""
from robench.datasets.declare import Column
from robench.datasets.hosted import HostedForms
from robench.datasets.subset200 import CleanSubsetSuite, Subset200Suite


class ImageNetRSuite(Subset200Suite):
    name = "imagenet-r"
    title = "ImageNet-R"
    description = "ImageNet-R renditions, resize + center crop; top-1 over its 200 classes"
    layout = "imagenet-r/<wnid>/*.jpg (30,000 images, 200 classes)"
    label_subset = "imagenet_r"
    folder_names = ("imagenet-r",)
    archives = ("imagenet-r.tar",)  # as released: imagenet-r/<wnid>/*.jpg inside, read in place
    accepted_forms = ("imagenet-r/<wnid>/*.jpg or <wnid>/*.jpg (extracted)", "imagenet-r.tar (read in place)")
    companion = "imagenet-val-r200"
    n_official = 30_000
    # axiong/imagenet-r: parquet split test with a wnid column; CLIP_benchmark's .cls are 0..199 of the subset
    hosted = HostedForms("all", hub_ids=("axiong/imagenet-r", "clip-benchmark/wds_imagenet-r"), split="test",
                         cls_numbering="subset")
    columns = (Column("imagenet_r_top1", "ImageNet-R", True,
                      "top-1 accuracy (%) on the 30,000 ImageNet-R renditions, logits restricted to its 200 "
                      "classes; resize + center crop.", core=True, plot_label="ImageNet-R", plot_marker="o"),)

    def write_generated(self, out, *, n_classes=10, per_class=5, size=64, seed=0, labels=None):
        """``out/imagenet-r/<wnid>/<style>_<n>.jpg`` over ImageNet-R's 200 classes, of the colour code."""
        import os

        from robench.datasets.colour_code import choose_classes, mark_generated, write_styled
        from robench.labels import subset_indices

        labels = labels or choose_classes(n_classes, seed, among=subset_indices("imagenet_r"))
        n = write_styled(os.path.join(out, "imagenet-r"), labels, per_class, draw_rendition,
                         lambda l, j: (None, f"{STYLES[j % len(STYLES)]}_{j}"), seed=seed, size=size, ext=".jpg")
        mark_generated(out, size=size, seed=seed)
        return n


STYLES = ("art", "cartoon", "deviantart", "embroidery", "graffiti", "painting", "sculpture", "sketch")


def draw_rendition(label, rng, size):
    """Stands in for a rendition (cartoon, painting): flat posterised patches around the class colour."""
    import numpy as np

    from robench.datasets.colour_code import colour_of

    img = np.empty((size, size, 3), np.float32)
    img[:] = colour_of(label)
    cells = int(rng.integers(3, 7))
    edges = np.linspace(0, size, cells + 1).astype(int)
    for i in range(cells):
        for k in range(cells):
            sign = 1.0 if (i + k) % 2 else -1.0
            img[edges[i]:edges[i + 1], edges[k]:edges[k + 1]] += sign * rng.uniform(6, 10, size=3)
    return img + rng.normal(0.0, 2.0, size=img.shape)


class ImageNetValR200Suite(CleanSubsetSuite):
    name = "imagenet-val-r200"
    title = "ImageNet val (R-200)"
    description = "ImageNet val restricted to ImageNet-R's 200 classes, scored 200-way (clean twin of imagenet-r)"
    layout = "val/<wnid>/*.JPEG (ImageNet val; only the 200 ImageNet-R classes are read: 10,000 images)"
    label_subset = "imagenet_r"
    columns = (Column("imagenet_val_r200_top1", "ImageNet val (R-200)", True,
                      "top-1 accuracy (%) on the ImageNet-1k validation images of ImageNet-R's 200 classes, "
                      "logits restricted to them: the clean baseline for ImageNet-R's effective robustness."),)
