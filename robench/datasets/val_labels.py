"""ImageNet val's labels as they are downloaded, for the flat ``ILSVRC2012_val_NNNNNNNN.JPEG`` files.

- The ILSVRC2012 devkit (``ILSVRC2012_devkit_t12/`` or ``ILSVRC2012_devkit_t12.tar.gz`` as downloaded):
  ``data/ILSVRC2012_validation_ground_truth.txt`` holds one ILSVRC2012_ID per image in file-number order,
  and ``data/meta.mat`` (a MATLAB struct array ``synsets``: ILSVRC2012_ID, WNID, words, gloss,
  num_children, ...) maps the IDs of its leaf synsets (num_children 0: the 1000 classes, IDs 1-1000) to
  wnids. The ID order is not the sorted-wnid order that class indices follow: every label goes through
  the wnid, never through an ID.
- Kaggle's ``LOC_val_solution.csv`` (ImageNet Object Localization Challenge): ``ImageId,PredictionString``,
  the first token of PredictionString is the wnid (boxes follow).

The mapping is read, never applied by moving files (the class-index mapping is the first cause of wrong
results in the peers' trackers). A label file that is not what it claims is one line naming it.
"""
import csv
import io
import os
import tarfile
from dataclasses import dataclass

from robench.errors import DatasetLayoutError
from robench.labels import imagenet_wnids

DEVKIT = "ILSVRC2012_devkit_t12"
DEVKIT_TAR = "ILSVRC2012_devkit_t12.tar.gz"
KAGGLE_CSV = "LOC_val_solution.csv"
LABEL_FILES = (DEVKIT, DEVKIT_TAR, KAGGLE_CSV)  # looked for in this order, in each folder beside the images
GROUND_TRUTH = "data/ILSVRC2012_validation_ground_truth.txt"
META = "data/meta.mat"


@dataclass
class ValLabels:
    by_stem: dict  # image file name without extension (ILSVRC2012_val_00000001) -> wnid
    path: str  # the label file (a devkit folder or tarball, or the CSV)
    kind: str  # "devkit" or "kaggle-csv"

    @property
    def name(self):
        return os.path.basename(os.path.normpath(self.path))

    def identity(self):
        """[name, size, mtime] for the fingerprint (a devkit folder: its ground-truth file's)."""
        from robench.datasets.archive_index import file_identity

        path = os.path.join(self.path, GROUND_TRUTH) if os.path.isdir(self.path) else self.path
        return [self.name, *file_identity(path)[1:]]


def find_label_file(folders):
    """The first label file (``LABEL_FILES``) found in ``folders``, in order, or None."""
    for folder in folders:
        for name in LABEL_FILES:
            path = os.path.join(folder, name)
            if os.path.isdir(path) if name == DEVKIT else os.path.isfile(path):
                return path
    return None


def read_labels(path):
    """ValLabels of a devkit folder, a devkit tarball or a Kaggle CSV (by what ``path`` is)."""
    if os.path.isdir(path):
        data = path if os.path.isfile(os.path.join(path, META)) else os.path.dirname(path)  # the devkit or its data/
        meta, truth = (os.path.join(data, n) for n in (META, GROUND_TRUTH))
        for file in (meta, truth):
            if not os.path.isfile(file):
                raise DatasetLayoutError(f"devkit folder {path} has no {os.path.relpath(file, data)} (expected "
                                         f"{DEVKIT}/{META} and {DEVKIT}/{GROUND_TRUTH})")
        with open(meta, "rb") as f, open(truth) as g:
            return ValLabels(devkit_labels(f.read(), g.read(), path), path, "devkit")
    if not os.path.isfile(path):
        raise DatasetLayoutError(f"label file {path} does not exist (expected a devkit folder, {DEVKIT_TAR} or "
                                 f"{KAGGLE_CSV})")
    if path.lower().endswith(".csv"):
        return ValLabels(kaggle_labels(path), path, "kaggle-csv")
    if ".tar" in os.path.basename(path).lower() or path.lower().endswith(".tgz"):
        meta, truth = _devkit_members(path)
        return ValLabels(devkit_labels(meta, truth.decode(errors="replace"), path), path, "devkit")
    raise DatasetLayoutError(f"label file {path} is neither a devkit ({DEVKIT}/ or {DEVKIT_TAR}) nor Kaggle's "
                             f"{KAGGLE_CSV}")


def _devkit_members(path):
    """(meta.mat bytes, ground-truth bytes) from a devkit tarball, by the members' paths."""
    found = {}
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                for want in (META, GROUND_TRUTH):
                    if member.isreg() and (member.name == want or member.name.endswith("/" + want)):
                        found[want] = tar.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError) as e:
        raise DatasetLayoutError(f"devkit {path} is not a readable tarball ({e}); download it again") from None
    missing = [w for w in (META, GROUND_TRUTH) if w not in found]
    if missing:
        raise DatasetLayoutError(f"devkit {path} has no {DEVKIT}/{missing[0]} (is it the ILSVRC2012 devkit, "
                                 f"{DEVKIT_TAR}?)")
    return found[META], found[GROUND_TRUTH]


def leaf_wnids(meta, where):
    """{ILSVRC2012_ID: wnid} of the 1000 leaf synsets of a devkit's meta.mat (its bytes)."""
    import scipy.io

    try:
        synsets = scipy.io.loadmat(io.BytesIO(meta), squeeze_me=True)["synsets"]
        rows = zip(synsets["ILSVRC2012_ID"].ravel(), synsets["WNID"].ravel(), synsets["num_children"].ravel())
        leaves = {int(i): str(w) for i, w, children in rows if int(children) == 0}
    except Exception as e:  # not a MAT file, no synsets struct, a field missing: not the devkit's meta.mat
        raise DatasetLayoutError(f"{where}: {META} is not the devkit's synsets table ({type(e).__name__}: {e}); "
                                 "download the ILSVRC2012 devkit again") from None
    if sorted(leaves) != list(range(1, 1001)) or set(leaves.values()) != set(imagenet_wnids()):
        raise DatasetLayoutError(f"{where}: the leaf synsets of {META} are not the 1000 ILSVRC2012 classes with IDs "
                                 f"1-1000 (found {len(leaves)}); is this the ILSVRC2012 devkit?")
    return leaves


def devkit_labels(meta, ground_truth, where):
    """{image stem: wnid} from meta.mat's bytes and the ground-truth text (line i labels image i)."""
    wnid_of = leaf_wnids(meta, where)
    out = {}
    for number, line in enumerate(ground_truth.split(), 1):
        if not line.isdigit() or int(line) not in wnid_of:
            raise DatasetLayoutError(f"{where}: line {number} of {os.path.basename(GROUND_TRUTH)} is {line!r}, not "
                                     "an ILSVRC2012_ID of 1-1000")
        out[f"ILSVRC2012_val_{number:08d}"] = wnid_of[int(line)]
    return out


def kaggle_labels(path):
    """{ImageId: wnid} from Kaggle's LOC_val_solution.csv."""
    wnids = set(imagenet_wnids())
    out = {}
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            if not {"ImageId", "PredictionString"} <= set(reader.fieldnames or ()):
                raise DatasetLayoutError(f"{path} has columns {reader.fieldnames}, not ImageId,PredictionString "
                                         f"(expected Kaggle's {KAGGLE_CSV})")
            for row in reader:
                image, tokens = row["ImageId"], (row["PredictionString"] or "").split()
                if not tokens or tokens[0] not in wnids:
                    raise DatasetLayoutError(f"{path} line {reader.line_num}: PredictionString of {image} does not "
                                             "start with an ImageNet-1k wnid")
                if image in out:
                    raise DatasetLayoutError(f"{path} line {reader.line_num}: {image} is labelled twice")
                out[image] = tokens[0]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DatasetLayoutError(f"{path} is not a readable CSV ({e})") from None
    return out
