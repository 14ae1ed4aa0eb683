"""ObjectNet (Barbu et al., "ObjectNet: A large-scale bias-controlled dataset for pushing the limits of
object recognition models", NeurIPS 2019): the 113 of its 313 classes that overlap ImageNet-1k.

Data, as downloaded from objectnet.dev: ``objectnet-1.0.zip`` (password-protected, ZipCrypto), read in
place, or its extracted folder; either holds ``objectnet-1.0/images/<folder>/*.png`` and
``objectnet-1.0/mappings/`` (the four mapping files, ``robench.datasets.objectnet_mappings``). The
password is the one objectnet.dev gives with the download, passed in the environment variable
``ROBENCH_OBJECTNET_PASSWORD``; records say the zip was encrypted (``data_format.encryption``), never the
password.

Protocol (imagenet-testbed's ``objectnet-1.0`` setting, modestyachts/imagenet-testbed
``src/eval_settings/objectnet.py``):

- only the images of the classes ``objectnet_to_imagenet_1k.json`` maps (the other 200 folders are not
  read);
- each image's 2-pixel border is cropped before the model's preprocessing: ObjectNet's README says its
  images have a 1-pixel red border, but imagenet-testbed (``crop_image(border=2)``), ObjectNet's own
  evaluation template (abarbu/objectnet-template-pytorch: "crops out 2 pixel red border") and
  shift-happens (``Pad(-2)``, noting that a 1-pixel crop left the border visible) crop 2, and so does
  robench (``BORDER``), so its numbers compare with theirs;
- then the model's own resize + center crop, as for ImageNet val;
- ``top1``: the argmax of the 1000 logits restricted to the union of the mapped ImageNet classes is right
  when it is one of the image's own ObjectNet class's ImageNet classes (imagenet-testbed's
  ``objectnet_accuracy`` with its ``class_sublist``); ``top5`` likewise over the 5 best of the union;
- ``top1_1000way``: the argmax over all 1000 classes must be in the image's set, so a prediction outside
  the mapped classes is wrong (shift-happens-benchmark/icml-2022 ``tasks/objectnet``:
  ``class_intersection_accuracy``, unmapped predictions become -1). Both are in every record.

Licence (objectnet.dev): ObjectNet is a test set only: it may not be used to train or tune models in
any way, and its images may be shown only with their red border. robench reads it only to evaluate.
"""
import io
import os

from robench.datasets.base import FolderSource, Unreadable, Variant, is_image_name, require_directory
from robench.datasets.declare import Column
from robench.datasets.suite import Suite
from robench.errors import DatasetLayoutError

PASSWORD_ENV = "ROBENCH_OBJECTNET_PASSWORD"
ARCHIVE = "objectnet-1.0.zip"
TOP = "objectnet-1.0"
BORDER = 2  # pixels cropped from each side (see the module docstring for why 2, not 1)
PASSWORD_HINT = (f"set {PASSWORD_ENV} to the password objectnet.dev gives with the download (it is never "
                 "written into records), or extract the zip and point at the folder")


class ObjectNetSource(FolderSource):
    """The images of the overlapping classes, keyed ``<folder>/<file>``, each sample's bytes the image with
    its border cropped (BMP: lossless, cheap to encode and decode); ``label_sets`` are the mapped classes
    (``robench.metrics.label_sets``), each sample labelled with its set's representative."""

    def __init__(self, tree, entries, stats, label_sets, mapping_digest):
        super().__init__(tree, entries, stats)
        self.label_sets, self.mapping_digest = label_sets, mapping_digest

    def read(self, index):
        key, data, label = super().read(index)
        return key, cropped(data, key), label

    def identity(self):
        """The archive (if any), the mapping files and the crop: they decide the samples as much as the images."""
        return [*self.tree.identity(), ["objectnet-mappings", self.mapping_digest], ["border", BORDER]]


def cropped(data, key=""):
    """``data`` (an encoded image) with ``BORDER`` pixels cut from each side, as BMP bytes; undecodable
    bytes are returned as they are (the engine names the file)."""
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception:
        return data
    image = image.convert("RGB") if image.mode != "RGB" else image
    width, height = image.size
    if width <= 2 * BORDER or height <= 2 * BORDER:
        return Unreadable(f"image is {width}x{height}: too small to crop ObjectNet's {BORDER}-pixel border")
    out = io.BytesIO()
    image.crop((BORDER, BORDER, width - BORDER, height - BORDER)).save(out, "BMP")
    return out.getvalue()


class ObjectNetSuite(Suite):
    name = "objectnet"
    title = "ObjectNet"
    description = ("ObjectNet 1.0, the 113 classes that overlap ImageNet (its own mapping files), 2-px border "
                   "cropped, resize + center crop; top-1 over the union of the mapped ImageNet classes, right "
                   "when in the image's class set (imagenet-testbed), and 1000-way")
    layout = (f"{ARCHIVE} (read in place, password in {PASSWORD_ENV}) or {TOP}/images/<folder>/*.png with "
              f"{TOP}/mappings/*.json")
    folder_names = ("objectnet", TOP)
    archives = (ARCHIVE,)
    accepted_forms = (f"{ARCHIVE} as downloaded (ZipCrypto; password in {PASSWORD_ENV})",
                      f"{TOP}/images/<folder>/*.png and {TOP}/mappings/ (extracted), or the {TOP} folder itself")
    n_classes = 113  # ObjectNet classes read (each a set of ImageNet classes)
    n_official = None  # robench has not counted the released 113-class subset (imagenet-testbed's beta: 18,514)
    metrics = ("accuracy", "top1_all_classes")  # NLL and calibration of a class set are not defined here
    companion = "imagenet"
    columns = (Column("objectnet_top1", "ObjectNet", True,
                      "top-1 accuracy (%) on ObjectNet 1.0's images of the 113 classes that overlap ImageNet, 2-px "
                      "border cropped, resize + center crop: the argmax over the union of the mapped ImageNet "
                      "classes must be one of the image's class's ImageNet classes (imagenet-testbed's protocol).",
                      plot_label="ObjectNet", plot_marker="s"),
               Column("objectnet_top1_1000way", "ObjectNet (1000-way)", True,
                      "ObjectNet top-1 (%) with the argmax over all 1000 ImageNet classes (a prediction outside "
                      "the mapped classes is wrong; shift-happens' protocol).", key="top1_1000way"))

    def variants(self, root, select=None):
        from robench.datasets import shards

        if shards.is_shard_root(os.fspath(root)):
            raise DatasetLayoutError(f"{root} is a shard set; objectnet is read from {ARCHIVE} or its extracted "
                                     "folder, whose mapping files decide the scoring (expected "
                                     f"{self.layout})")
        return super().variants(root, select)

    def scan(self, root, select=None):
        from robench.datasets.objectnet_mappings import read_mapping
        from robench.datasets.trees import foreign_folders, mount
        from robench.metrics.label_sets import LabelSets

        tree = self._data_tree(root, mount, foreign_folders)
        where = tree.locate()
        if not (tree.is_dir("images") and tree.is_dir("mappings")):
            raise DatasetLayoutError(f"{where} has no images/ and mappings/ folders (expected {self.layout})")
        mapping = read_mapping(tree.subtree("mappings"), tree.locate("mappings"))
        images = tree.subtree("images")
        folders = images.folders()
        unknown = [f for f in folders if f not in mapping.names]
        if unknown:
            raise DatasetLayoutError(f"{images.locate(unknown[0])} is not a folder of folder_to_objectnet_label.json "
                                     f"({len(unknown)} such); is this ObjectNet 1.0?")
        missing = sorted(set(mapping.sets) - set(folders))
        if missing:
            raise DatasetLayoutError(f"{images.locate()} lacks the folder {missing[0]} of a class the mapping maps to "
                                     f"ImageNet ({len(missing)} missing): an incomplete download or extraction?")
        sets = LabelSets(mapping.sets, f"{where}/mappings")
        entries, stats = [], []
        for folder in sorted(mapping.sets):
            label = sets.label_of(folder)
            files = sorted(images.files(folder, keep=is_image_name))
            entries.extend((f"{folder}/{name}", label) for name, _ in files)
            stats.extend(stat for _, stat in files)
        if not entries:
            raise DatasetLayoutError(f"{images.locate()} has no images in the mapped class folders "
                                     f"(expected {self.layout})")
        source = ObjectNetSource(images, entries, stats, sets, mapping.digest)
        info = {"objectnet_classes": len(sets), "imagenet_classes": len(sets.union), "border_crop_px": BORDER,
                "classes_not_read": len(folders) - len(sets), "mapping_sha256": mapping.digest[:16]}
        variants = [Variant(f"{self.name}/all", source, n_official=self.n_official, info=info)]
        return self.select_variants(variants, select) if select else variants

    def _data_tree(self, root, mount, foreign_folders):
        """The ``objectnet-1.0`` tree under ``root``: in the zip, the extracted folder, or ``root`` itself."""
        from robench.datasets.base import find_data_dir

        password = os.environ.get(PASSWORD_ENV) or None
        for folder in (root, os.path.join(root, "objectnet")):
            if not os.path.isdir(folder):
                continue
            tree = mount(folder, self.archives, is_image_name, foreign_folders(self), password, PASSWORD_HINT)
            if tree.is_dir(TOP):
                return tree.subtree(TOP)
            if tree.is_dir("images") or tree.is_dir("mappings"):
                return tree
        require_directory(find_data_dir(root, self.folder_names), self.layout)
        raise DatasetLayoutError(f"{root} holds neither {ARCHIVE} nor {TOP}/ (expected {self.layout})")

    def departures(self, record):
        crop = (record.get("variants") or [{}])[0].get("border_crop_px")
        return {} if crop in (None, BORDER) else {"objectnet border crop": f"{crop} px"}

    def detail_tables(self, rows):
        return ways_table(self, rows)

    def plots(self, rows):
        from robench.datasets.declare import Plot

        frame = _ways_frame(rows)
        if frame is None:
            return []
        return [Plot("bars", f"{self.name}-scoring", "ObjectNet top-1: over the mapped classes vs 1000-way",
                     frame.set_index("Model"), ylabel="top-1 (%) ↑")]

    def write_generated(self, out, **options):
        from robench.datasets.objectnet_standin import write_objectnet_standin

        return write_objectnet_standin(out, **options)


def _ways_frame(rows):
    import pandas as pd

    from robench.datasets.subset200 import pooled_percent

    table = []
    for label, record, _ in sorted(rows, key=lambda r: r[0]):
        table.append({"Model": label, "top-1, mapped classes ↑": pooled_percent(record, "correct1", "top1"),
                      "top-1, 1000-way ↑": pooled_percent(record, "correct1_1000way", "top1_1000way")})
    if not table:
        return None
    return pd.DataFrame(table)


def ways_table(suite, rows):
    from robench.datasets.declare import DetailTable

    frame = _ways_frame(rows)
    if frame is None:
        return []
    intro = ("Top-1 (%) on ObjectNet's 113 ImageNet classes scored two ways. *Mapped classes*: the argmax over the "
             "union of the ImageNet classes the dataset's mapping files name, right when it is one of the image's "
             "class's ImageNet classes (imagenet-testbed; the main table's number, `top1`). *1000-way*: the argmax "
             "over all 1000 classes, so a prediction outside the mapped classes is wrong (shift-happens; "
             "`top1_1000way`).")
    return [DetailTable(f"{suite.display_name}: mapped-class vs 1000-way top-1", intro, frame, text_columns=1,
                        lower_is_better=None)]
