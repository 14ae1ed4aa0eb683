"""ImageNet-A (Hendrycks et al., 2021): natural adversarial examples of 200 classes,
``<root>/imagenet-a/<wnid>/*.jpg``, 7,500 images; resize + center crop; scored over its 200 classes.
``imagenet-val-a200`` is the clean twin (ImageNet val, the same 200 classes, scored 200-way)."""
from robench.datasets.declare import Column
from robench.datasets.hosted import HostedForms
from robench.datasets.subset200 import CleanSubsetSuite, Subset200Suite


class ImageNetASuite(Subset200Suite):
    name = "imagenet-a"
    title = "ImageNet-A"
    description = "ImageNet-A natural adversarial examples, resize + center crop; top-1 over its 200 classes"
    layout = "imagenet-a/<wnid>/*.jpg (7,500 images, 200 classes)"
    label_subset = "imagenet_a"
    folder_names = ("imagenet-a",)
    archives = ("imagenet-a.tar",)  # as released: imagenet-a/<wnid>/*.jpg (and a README.txt) inside
    accepted_forms = ("imagenet-a/<wnid>/*.jpg or <wnid>/*.jpg (extracted)", "imagenet-a.tar (read in place)")
    companion = "imagenet-val-a200"
    n_official = 7_500
    hosted = HostedForms("all", hub_ids=("clip-benchmark/wds_imagenet-a",), split="test", cls_numbering="subset")
    columns = (Column("imagenet_a_top1", "ImageNet-A", True,
                      "top-1 accuracy (%) on the ImageNet-A natural adversarial examples (about 7,500 images), "
                      "logits restricted to its 200 classes; resize + center crop.",
                      plot_label="ImageNet-A", plot_marker="v"),)

    def write_generated(self, out, *, n_classes=10, per_class=5, size=64, seed=0, labels=None):
        """``out/imagenet-a/<wnid>/*.jpg`` over ImageNet-A's 200 classes, of the colour code; file names have
        dots and spaces, as the released ones do (e.g. ``0.000116_digital clock _ digital clock_0.865662.jpg``)."""
        import os

        from robench.datasets.colour_code import choose_classes, mark_generated, write_styled
        from robench.labels import imagenet_wnids, subset_indices, wnid_lemmas

        labels = labels or choose_classes(n_classes, seed, among=subset_indices("imagenet_a"))
        lemma, wnids = wnid_lemmas(), imagenet_wnids()

        def name_of(label, j):
            word = lemma[wnids[label]]
            return None, f"{j}.{label:06d}_{word} _ {word}_0.{j:06d}"

        n = write_styled(os.path.join(out, "imagenet-a"), labels, per_class, draw_adversarial, name_of,
                         seed=seed, size=size, ext=".jpg")
        mark_generated(out, size=size, seed=seed)
        return n


def draw_adversarial(label, rng, size):
    """Stands in for a natural adversarial example: a small patch of another class's colour."""
    from robench.datasets.colour_code import colour_of, square_pixels

    img = square_pixels(label, rng, size)
    other = colour_of(int(rng.integers(0, 1000)))
    side = max(2, size // 5)
    y, x = rng.integers(0, size - side, size=2)
    img[y:y + side, x:x + side] = other
    return img


class ImageNetValA200Suite(CleanSubsetSuite):
    name = "imagenet-val-a200"
    title = "ImageNet val (A-200)"
    description = "ImageNet val restricted to ImageNet-A's 200 classes, scored 200-way (clean twin of imagenet-a)"
    layout = "val/<wnid>/*.JPEG (ImageNet val; only the 200 ImageNet-A classes are read: 10,000 images)"
    label_subset = "imagenet_a"
    columns = (Column("imagenet_val_a200_top1", "ImageNet val (A-200)", True,
                      "top-1 accuracy (%) on the ImageNet-1k validation images of ImageNet-A's 200 classes, "
                      "logits restricted to them: the clean baseline for ImageNet-A."),)
