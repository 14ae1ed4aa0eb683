"""ImageNet val in every form it is downloaded in, read in place: one function, ``val_source``, for every
suite that reads val (``imagenet``, the clean twins ``imagenet-val-r200``/``-a200``, ``imagenet-c-gen``).

- class folders ``<wnid>/*.JPEG`` at the root or in ``root/val`` (what robench always read);
- the official flat files ``ILSVRC2012_val_NNNNNNNN.JPEG``: the folder, or ``ILSVRC2012_img_val.tar``
  itself (read in place, ``robench.datasets.trees``), or Kaggle's ``ILSVRC/Data/CLS-LOC/val``; labelled
  by the devkit or Kaggle's CSV (``robench.datasets.val_labels``) found beside the images (the images'
  folder, the root, the root's parent) or given with ``--labels FILE``.

Flat images are sorted and keyed as the class-folder form sorts and keys them, ``(wnid, file name)`` and
``<wnid>/<file>``, so the same images give the same record in either form. A label file must cover
exactly the images there: one that misses some or names others is an error with the counts and an
example, never a silently smaller or mislabelled run.
"""
import os

from robench.datasets.base import FolderSource, is_image_name, scan_wnid_folders
from robench.datasets.trees import DirectoryTree, UnionTree, data_tree
from robench.datasets import val_labels as L
from robench.errors import DatasetLayoutError
from robench.labels import label_of

VAL_TAR = "ILSVRC2012_img_val.tar"
KAGGLE_VAL = "ILSVRC/Data/CLS-LOC/val"  # under the Kaggle download's root, beside LOC_val_solution.csv
IMAGE_FOLDERS = ("val", KAGGLE_VAL)
FORMS = ("val/<wnid>/*.JPEG or <wnid>/*.JPEG (class folders)",
         f"the flat ILSVRC2012_val_*.JPEG folder or {VAL_TAR} (read in place), labelled by "
         f"{L.DEVKIT}/ or {L.DEVKIT_TAR} or Kaggle's {L.KAGGLE_CSV} beside them (or --labels FILE)",
         f"Kaggle's {KAGGLE_VAL}/ with {L.KAGGLE_CSV}")


class FlatValSource(FolderSource):
    """Flat val files read through their label file: keys ``<wnid>/<file>``, files where they are."""

    def __init__(self, tree, entries, stats, paths, labels):
        super().__init__(tree, entries, stats, paths)
        self.labels = labels  # ValLabels

    def identity(self):
        return super().identity() + [self.labels.identity()]

    def describe(self):
        held = self.tree.describe()
        out = {"format": "imagenet-val-flat"}
        if held.get("files"):
            out["files"] = held["files"]
        out["labels"] = self.labels.name
        return out


def val_source(root, what, keep=None, label_file=None):
    """The val images under ``root`` in any accepted form; ``keep(wnid)`` narrows the classes (the clean
    twins' 200), ``label_file`` is ``--labels`` (else the label file is looked for beside the images)."""
    root = os.fspath(root)
    tree = data_tree(root, IMAGE_FOLDERS, (VAL_TAR,), is_image_name)
    classes = [f for f in tree.folders() if f != L.DEVKIT]
    if classes:
        if isinstance(tree, UnionTree):
            raise DatasetLayoutError(f"{root} holds ImageNet val twice: class folders (e.g. {classes[0]}/) and "
                                     f"{VAL_TAR}; keep one of them, move the other away")
        wanted = (lambda f: f != L.DEVKIT) if keep is None else (lambda f: f != L.DEVKIT and keep(f))
        return scan_wnid_folders(tree, what=what, keep=wanted)
    flat = sorted(tree.files(keep=is_image_name))
    if not flat:
        raise DatasetLayoutError(f"{tree.locate()} has no class folders and no flat ILSVRC2012_val_*.JPEG images "
                                 f"(expected {what}; or {VAL_TAR} or the flat folder with the devkit)")
    labels = _labels(root, tree, flat, label_file)
    return flat_source(tree, flat, labels, keep, what)


def _labels(root, tree, flat, label_file):
    if label_file:
        return L.read_labels(os.fspath(label_file))
    folders = [tree.root] if isinstance(tree, DirectoryTree) else []
    folders = list(dict.fromkeys(folders + [root, os.path.dirname(os.path.abspath(root))]))
    found = L.find_label_file(folders)
    if found is None:
        raise DatasetLayoutError(
            f"{tree.locate()} holds {len(flat)} flat ImageNet val images (e.g. {flat[0][0]}) but no labels: looked for "
            f"{L.DEVKIT}/, {L.DEVKIT_TAR} and {L.KAGGLE_CSV} in {', '.join(folders)}; put the devkit beside the "
            "images or give --labels FILE")
    return L.read_labels(found)


def flat_source(tree, flat, labels, keep, what):
    """A FlatValSource of the flat files ``flat`` ([(name, stat)]) labelled by ``labels``."""
    stems = {os.path.splitext(name)[0]: (name, stat) for name, stat in flat}
    unlabelled = [s for s in stems if s not in labels.by_stem]
    absent = [s for s in labels.by_stem if s not in stems]
    if unlabelled or absent:
        example = (f"{stems[unlabelled[0]][0]} has no label" if unlabelled
                   else f"{absent[0]} is labelled but not there")
        raise DatasetLayoutError(
            f"{labels.path} labels {len(labels.by_stem)} images but {tree.locate()} holds {len(stems)} "
            f"({len(unlabelled)} without a label, {len(absent)} labelled but missing; e.g. {example}): the label file "
            "must cover exactly the images there")
    rows = sorted((labels.by_stem[stem], name, stat) for stem, (name, stat) in stems.items())
    if keep is not None:
        rows = [row for row in rows if keep(row[0])]
    if not rows:
        raise DatasetLayoutError(f"{tree.locate()} has no images of the classes read (expected {what})")
    where = labels.path
    entries = [(f"{wnid}/{name}", label_of(wnid, where)) for wnid, name, _ in rows]
    return FlatValSource(tree, entries, [stat for _, _, stat in rows], [name for _, name, _ in rows], labels)
