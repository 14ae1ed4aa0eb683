"""ImageNet-V2 (Recht et al., 2019): three new test sets of 10,000 images each, 1000 classes.

Layout: ``<root>/<variant folder>/<class index>/*.jpeg``, as the released tarballs unpack:
``imagenetv2-matched-frequency-format-val``, ``imagenetv2-threshold0.7-format-val`` and
``imagenetv2-top-images-format-val`` (the short names ``matched-frequency``, ``threshold0.7``,
``top-images`` are accepted too). ``root`` may also be one variant folder itself. The class folder
name IS the 1k class index (``0`` .. ``999``): it is parsed as a number, never sorted as text (in
text order folder ``10`` comes before ``2``). Resize + center crop; 1000-way top-1.
``--select matched-frequency`` (etc.) evaluates some of the variants; by default, all present.
"""
import os

from robench.datasets.base import Variant, scan_wnid_folders
from robench.datasets.declare import Column
from robench.datasets.suite import Suite
from robench.errors import DatasetLayoutError

VARIANTS = ("matched-frequency", "threshold0.7", "top-images")


def folder_names(variant):
    """Names under which a variant's folder is accepted."""
    return (f"imagenetv2-{variant}-format-val", f"imagenetv2-{variant}", variant, variant.replace("-", "_"))


def class_index_label(folder, where):
    """``'10'`` -> 10: ImageNet-V2 names its class folders by index."""
    if not (folder.isdigit() and str(int(folder)) == folder and int(folder) < 1000):
        raise DatasetLayoutError(f"{where}: ImageNet-V2 class folders are named by class index 0..999 "
                                 f"(found '{folder}')")
    return int(folder)


class ImageNetV2Suite(Suite):
    name = "imagenet-v2"
    title = "ImageNet-V2"
    description = "ImageNet-V2 (matched-frequency, threshold0.7, top-images), resize + center crop; top-1"
    layout = "imagenetv2-<variant>-format-val/<class index 0-999>/*.jpeg (3 variants x 10,000 images)"
    n_official = 10_000
    columns = (
        Column("imagenet_v2_matched_frequency_top1", "V2 matched-frequency", True,
               "1000-way top-1 accuracy (%) on ImageNet-V2 MatchedFrequency (10,000 images); resize + center crop. "
               "Each ImageNet-V2 variant has its own column; this is the one usually quoted as 'ImageNet-V2'.",
               variant="matched-frequency", plot_label="ImageNet-V2 MF", plot_marker="P"),
        Column("imagenet_v2_threshold_0_7_top1", "V2 threshold-0.7", True,
               "1000-way top-1 accuracy (%) on ImageNet-V2 Threshold0.7 (10,000 images); resize + center crop.",
               variant="threshold0.7"),
        Column("imagenet_v2_top_images_top1", "V2 top-images", True,
               "1000-way top-1 accuracy (%) on ImageNet-V2 TopImages (10,000 images); resize + center crop.",
               variant="top-images"),
    )

    def scan(self, root, select=None):
        found = self._variant_dirs(root)
        if not found:
            raise DatasetLayoutError(
                f"{root} holds no ImageNet-V2 variant folder (expected one of "
                f"{', '.join(folder_names(v)[0] for v in VARIANTS)}, each with class folders 0..999)")
        variants = [Variant(f"{self.name}/{v}",
                            scan_wnid_folders(path, label_for=class_index_label,
                                              what=f"{folder_names(v)[0]}/<0-999>/*.jpeg"),
                            n_official=self.n_official, info={"variant": v})
                    for v, path in found]
        return self.select_variants(variants, select) if select else variants

    def _variant_dirs(self, root):
        """[(variant, folder)] found under ``root``, or ``root`` itself when it is a variant folder."""
        own = os.path.basename(os.path.normpath(root))
        for v in VARIANTS:
            if own in folder_names(v):
                return [(v, root)]
        found = []
        for v in VARIANTS:
            path = next((os.path.join(root, n) for n in folder_names(v) if os.path.isdir(os.path.join(root, n))), None)
            if path:
                found.append((v, path))
        if not found and any(e.is_dir() and e.name.isdigit() for e in os.scandir(root)):
            raise DatasetLayoutError(
                f"{root} holds class folders directly but its name does not say which ImageNet-V2 variant "
                f"it is: rename it to one of {', '.join(folder_names(v)[0] for v in VARIANTS)} "
                "or point at the folder that holds it")
        return found

    def write_generated(self, out, *, n_classes=10, per_class=5, size=64, seed=0, labels=None):
        """The three variants ``out/imagenetv2-<variant>-format-val/<class index>/<hash>.jpeg``, of the colour code."""
        import hashlib

        from robench.datasets.colour_code import choose_classes, mark_generated, square_pixels, write_styled

        labels = labels or choose_classes(n_classes, seed)
        total = 0
        for i, variant in enumerate(VARIANTS):
            def name_of(label, j, i=i):
                return str(label), hashlib.sha1(f"{seed}-{i}-{label}-{j}".encode()).hexdigest()

            total += write_styled(os.path.join(out, folder_names(variant)[0]), labels, per_class,
                                  square_pixels, name_of, seed=seed + 1000 * i, size=size, ext=".jpeg")
        mark_generated(out, size=size, seed=seed)
        return total
