"""ImageNet-C generated on the fly from the user's own ImageNet val: ``imagenet-c-gen``.

Each val image (``ROOT/val/<wnid>/*`` or the val folder itself) is read as RGB, resized so that its
shorter side is 256 (bilinear) and center-cropped to 224, exactly as ImageNet-C was made
(hendrycks/robustness ``make_imagenet_c.py``: ``trn.Compose([trn.Resize(256), trn.CenterCrop(224)])``
on a PIL image), then corrupted by the ``imagecorruptions-imaug`` package
(``robench.datasets.corruptions.corrupt_array``) after

    np.random.seed(int.from_bytes(sha256(f"{key}|{corruption}|{severity}").digest()[:4], "little"))

where ``key`` is the image's ``<wnid>/<file name>``. The pixels of a cell therefore depend only on the
image, the corruption, the severity and the generator's version: never on the world size, the
job-array task, the DataLoader worker that reads it, the slice it is read in, or a resume. This runs
inside the Source's ``iter_range`` (in the DataLoader workers); the corrupted image is handed to the
engine as lossless BMP bytes (the fastest lossless format to decode: ~0.08 ms per 224 px image, PNG
~0.3-0.7 ms), which it decodes as any other file. ``robench data corrupt`` writes the same pixels as
PNG files in the released ImageNet-C layout (``robench.datasets.corrupt_writer``). A cell's fingerprint
covers the val listing (names, labels, sizes, modification times), the cell, the generator's package
and version, and the recipe (``RECIPE``: preprocessing, seed rule, encoding), so cached cells and merged
job-array tasks never mix other images or another generator's pixels.

Cells, ``--select``, aggregates, columns and the AlexNet table are ImageNet-C's
(``CorruptionSuite``): 15 corruptions x 5 severities (mCE, mean error) and the 4 extra corruptions,
evaluated by default and reported apart. Images are 224x224 and never resized by the engine. The
corruptions are not the released ImageNet-C's (another generator; JPEG-free), so every record says
``data_origin: generated`` and the leaderboard gives it a section of its own.
"""
import hashlib
import io
import os

import numpy as np

from robench.datasets import imagenet_val
from robench.datasets.base import Source, Variant
from robench.datasets.corruption_benchmark import CorruptionSuite
from robench.datasets.imagenet_c import ImageNetCSuite
from robench.errors import RobenchError
from robench.metrics import imagenet_c as imagenet_c_metrics

RECIPE = "imagenet-c-gen/1"  # bump when the preprocessing, the seed rule or the encoding changes
RESIZE, CROP = 256, 224
PREPROCESSING = ("PIL RGB; torchvision Resize(256) (shorter side, bilinear) + CenterCrop(224), as "
                 "hendrycks/robustness make_imagenet_c.py")
SEED_RULE = ("np.random.seed(int.from_bytes(sha256(f'{key}|{corruption}|{severity}'.encode()).digest()[:4], "
             "'little')) before each image, key = '<wnid>/<file name>' of the val image")
ENCODING = "BMP on the fly (lossless); PNG when materialised by robench data corrupt"


def seed_for(key, corruption, severity):
    """The np.random seed of one (image, corruption, severity): a function of nothing else."""
    text = f"{key}|{corruption}|{int(severity)}".encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:4], "little")


def clean_crop(data):
    """Encoded val image bytes -> the 224x224x3 uint8 crop that ImageNet-C corrupts."""
    from PIL import Image
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as TF

    with Image.open(io.BytesIO(data)) as img:
        rgb = img.convert("RGB")
    rgb = TF.center_crop(TF.resize(rgb, RESIZE, interpolation=InterpolationMode.BILINEAR), CROP)
    return np.asarray(rgb, dtype=np.uint8)


def corrupt_pixels(clean, key, corruption, severity):
    """The corrupted 224x224x3 uint8 pixels of one val image; the caller's np.random state is kept."""
    from robench.datasets.corruptions import corrupt_array

    state = np.random.get_state()
    try:
        np.random.seed(seed_for(key, corruption, severity))
        return corrupt_array(np.array(clean, dtype=np.uint8, copy=True), corruption, severity)
    finally:
        np.random.set_state(state)


def encode(pixels, fmt="BMP"):
    """Lossless bytes of HxWx3 uint8 pixels (BMP: the fastest to decode; PNG for files on disk)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, fmt, **({"compress_level": 1} if fmt == "PNG" else {}))
    return buffer.getvalue()


class CleanVal:
    """The val images all cells are made from, listed once and shared by the 95 cell sources; their
    fingerprint (the folder source's: names, labels, sizes and modification times) is computed once."""

    def __init__(self, folder):
        self.folder = folder  # a FolderSource of the clean val images
        self._fingerprint = None

    def fingerprint(self):
        if self._fingerprint is None:
            self._fingerprint = self.folder.fingerprint()
        return self._fingerprint

    def content_id(self):
        """Names, labels and sizes only: what ``robench data corrupt`` checks before resuming a folder, so
        that a copy of the same val images (new modification times) still resumes it."""
        h = hashlib.sha256()
        stats = getattr(self.folder, "stats", None)
        for i, (rel, label) in enumerate(self.folder.entries):
            size = stats[i][0] if stats else os.path.getsize(os.path.join(self.folder.directory, rel))
            h.update(f"{rel}\t{label}\t{size}\n".encode())
        return h.hexdigest()[:16]


class CorruptedSource(Source):
    """One ImageNet-C cell, made on the fly from the val images: samples are (val key, BMP bytes of the
    corrupted 224x224 crop, label). A val file that cannot be decoded is passed on unchanged, so the
    engine names it (or skips it with --skip-bad-images) like any undecodable file."""

    def __init__(self, val, corruption, severity, generator):
        self.val, self.corruption, self.severity, self.generator = val, corruption, int(severity), generator

    @property
    def entries(self):  # (key, label) per sample, as a FolderSource has them (class counts)
        return self.val.folder.entries

    def __len__(self):
        return len(self.val.folder)

    def locate(self, key):
        return self.val.folder.locate(key)

    def describe(self):
        return self.val.folder.describe()  # how the val images it corrupts are held

    def sample(self, key, data, label):
        try:
            clean = clean_crop(data)
        except Exception:  # not decodable: the engine reports the original file by name
            return key, data, label
        try:
            pixels = corrupt_pixels(clean, key, self.corruption, self.severity)
        except RobenchError:
            raise
        except Exception as e:
            raise RobenchError(f"{self.generator} failed on {self.locate(key)} ({self.corruption}/{self.severity}): "
                               f"{type(e).__name__}: {e}") from None
        return key, encode(pixels), label

    def read(self, index):
        return self.sample(*self.val.folder.read(index))

    def iter_range(self, start, stop):
        for key, data, label in self.val.folder.iter_range(start, stop):
            yield self.sample(key, data, label)

    def fingerprint(self):
        text = f"{self.val.fingerprint()}|{self.corruption}|{self.severity}|{self.generator}|{RECIPE}|{SEED_RULE}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]


class ImageNetCGenSuite(CorruptionSuite):
    name = "imagenet-c-gen"
    title = "ImageNet-C (generated)"
    description = ("ImageNet-C generated on the fly from your ImageNet val (Resize 256 + CenterCrop 224, "
                   "imagecorruptions-imaug, one seed per image/corruption/severity): 15 corruptions x 5 severities "
                   "(+4 extra, apart), 224px, no resize; mCE, relative mCE, mean error; data_origin generated")
    layout = ("val/<wnid>/*.JPEG (or the val folder itself): ImageNet val, corrupted on the fly into "
              "<corruption>/<severity 1-5> cells of 224x224 images")
    folder_names = ("val",)
    n_official = 50_000
    stored_size = CROP
    archives = (imagenet_val.VAL_TAR,)  # the val it corrupts, in any form imagenet reads
    accepted_forms = imagenet_val.FORMS
    label_file = None  # --labels FILE, as for imagenet
    # The same columns as imagenet-c (the leaderboard keeps the first declaration of an id, imagenet-c's):
    # records of this suite never share a section with released or synth ImageNet-C records (data origin
    # 'generated on the fly ...', see ``departures``), so a column never mixes the two protocols.
    columns = ImageNetCSuite.columns

    @property
    def corruption_set(self):
        return imagenet_c_metrics.corruption_set()

    # --- data -----------------------------------------------------------------------------------
    def scan(self, root, select=None):
        from robench.datasets.corruptions import corruption_names, generator

        val = CleanVal(imagenet_val.val_source(root, self.layout, label_file=self.label_file))
        made = generator()  # also: a clear error when the package is not installed
        known = set(corruption_names("all"))
        cset = self.corruption_set
        cells, _ = self.choose_cells(select, {(c, s) for c in cset.all if c in known for s in cset.severities})
        return [Variant(f"{self.name}/{c}/{s}", CorruptedSource(val, c, s, made), n_official=self.cell_size,
                        info=self.cell_info(c, s, made), resize=False, stored_size=CROP)
                for c, s in cells]

    def cell_info(self, corruption, severity, generator=None):
        info = {"corruption": corruption, "severity": severity, "group": self.corruption_set.groups[corruption]}
        if generator is not None:
            info.update(generator=generator, recipe=RECIPE)
        return info

    def data_origin(self, root):
        return "generated"  # always: these are not the released ImageNet-C images

    def stored_size_of(self, root):
        return CROP  # the crop, whatever size the val images (or a generated val's marker) have

    # --- results --------------------------------------------------------------------------------
    def aggregates(self, entries):
        out = super().aggregates(entries)
        made = next((e for e in entries if e.get("generator")), None)
        if made is not None:
            out["generation"] = {"generator": made["generator"], "recipe": made.get("recipe"),
                                 "preprocessing": PREPROCESSING, "seed_rule": SEED_RULE, "encoding": ENCODING}
            out.setdefault("definitions", {})["generation"] = (
                "how the corrupted images were made on the fly from the val images (not the released ImageNet-C)")
        return out

    def departures(self, record):
        """Beyond a subset of cells: the data origin says how the images were made, so these records get
        a section of their own (never beside released or `robench data synth` ImageNet-C records)."""
        out = super().departures(record)
        made = next((v.get("generator") for v in record["variants"] if v.get("generator")), None)
        out["origin"] = "generated on the fly from ImageNet val" + (f" by {made}" if made else "")
        return out

    def write_generated(self, out, **options):
        """A small generated ImageNet val (``out/val/<wnid>/*.JPEG``) to corrupt on the fly."""
        from robench.datasets.imagenet import write_imagenet

        options.setdefault("n_classes", 2)
        options.setdefault("per_class", 2)
        return write_imagenet(out, **options)
