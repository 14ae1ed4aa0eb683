"""ImageNet-C generated on the fly from the user's own ImageNet val: ``imagenet-c-gen``.

Each val image (``ROOT/val/<wnid>/*`` or the val folder itself) is read as RGB, resized so that its
shorter side is 256 (bilinear) and center-cropped to 224, exactly as ImageNet-C was made
(hendrycks/robustness ``make_imagenet_c.py``: ``trn.Compose([trn.Resize(256), trn.CenterCrop(224)])``
on a PIL image), then corrupted by ``robench.datasets.corruptions.corrupt_array`` (the ``imagecorruptions-imaug`` package
for 15 corruptions; frost, elastic transform, motion blur and snow as the reference code made them) after

    np.random.seed(int.from_bytes(sha256(f"{key}|{corruption}|{severity}").digest()[:4], "little"))

where ``key`` is the image's ``<wnid>/<file name>``. The pixels of a cell therefore depend only on the
image, the corruption, the severity and the generator's version: never on the world size, the
job-array task, the DataLoader worker that reads it, the slice it is read in, or a resume. This runs
inside the Source's ``iter_range`` (in the DataLoader workers); the corrupted image is handed to the
engine as the release saved it: JPEG, PIL ``quality=85, optimize=True`` (make_imagenet_c.py), which the
engine decodes as any other file. ``--select lossless`` (with any cells) hands it lossless BMP instead
(the pixels before the JPEG step, ~0.08 ms per 224 px image to decode): a departure from the release,
recorded as such (``departures``: its own leaderboard section). ``robench data corrupt`` writes the same
bytes as files in the released ImageNet-C layout (``robench.datasets.corrupt_writer``). A cell's
fingerprint covers the val listing (names, labels, sizes, modification times), the cell, the generator,
the version of every library that touches the pixels (``corruptions.libraries``), the encoding and the
recipe (``RECIPE``: preprocessing, seed rule), so cached cells and merged job-array tasks never mix other
images, another library's pixels or another encoding.

Cells, ``--select``, aggregates, columns and the AlexNet table are ImageNet-C's
(``CorruptionSuite``): 15 corruptions x 5 severities (mCE, mean error) and the 4 extra corruptions,
evaluated by default and reported apart. Images are 224x224 and never resized by the engine. The
images are not the released ImageNet-C's (other val bytes, other library versions), so every record says
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

RECIPE = "imagenet-c-gen/2"  # bump when the preprocessing, the seed rule or the encoding changes (2: JPEG q85)
RESIZE, CROP = 256, 224
PREPROCESSING = ("PIL RGB; torchvision Resize(256) (shorter side, bilinear) + CenterCrop(224), as "
                 "hendrycks/robustness make_imagenet_c.py")
SEED_RULE = ("np.random.seed(int.from_bytes(sha256(f'{key}|{corruption}|{severity}'.encode()).digest()[:4], "
             "'little')) before each image, key = '<wnid>/<file name>' of the val image")
ENCODINGS = {"jpeg": "JPEG, PIL quality=85 optimize=True, as make_imagenet_c.py saved the release",
             "lossless": "lossless (BMP on the fly; PNG from robench data corrupt --lossless), not the release's JPEG"}
LOSSLESS = "lossless"  # the --select token that asks for lossless images


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


JPEG_OPTIONS = {"quality": 85, "optimize": True}  # make_imagenet_c.py: Image.fromarray(...).save(path, quality=85, optimize=True)


def encode(pixels, fmt="JPEG"):
    """Bytes of HxWx3 uint8 pixels: JPEG as the release saved them (PIL, quality 85, optimize, PIL's default
    4:2:0 subsampling), or lossless (BMP: the fastest to decode; PNG for files on disk)."""
    from PIL import Image

    options = {"JPEG": JPEG_OPTIONS, "PNG": {"compress_level": 1}}.get(fmt, {})
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, fmt, **options)
    return buffer.getvalue()


def split_encoding(select):
    """(encoding, the other --select tokens): ``lossless`` among the tokens asks for lossless images."""
    tokens = [t for t in (select or []) if t.strip().strip("/") != LOSSLESS]
    return ("lossless" if len(tokens) < len(select or []) else "jpeg"), (tokens or None)


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

    def __init__(self, val, corruption, severity, generator, libraries="", encoding="jpeg"):
        self.val, self.corruption, self.severity, self.generator = val, corruption, int(severity), generator
        self.libraries, self.encoding = libraries, encoding  # corruptions.libraries_text(); a key of ENCODINGS

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
        return key, encode(pixels, "JPEG" if self.encoding == "jpeg" else "BMP"), label

    def read(self, index):
        return self.sample(*self.val.folder.read(index))

    def iter_range(self, start, stop):
        for key, data, label in self.val.folder.iter_range(start, stop):
            yield self.sample(key, data, label)

    def fingerprint(self):
        text = (f"{self.val.fingerprint()}|{self.corruption}|{self.severity}|{self.generator}|{RECIPE}|{SEED_RULE}|"
                f"{self.libraries}|{self.encoding}")
        return hashlib.sha256(text.encode()).hexdigest()[:16]


class ImageNetCGenSuite(CorruptionSuite):
    name = "imagenet-c-gen"
    title = "ImageNet-C (generated)"
    description = ("ImageNet-C generated on the fly from your ImageNet val (Resize 256 + CenterCrop 224, "
                   "ImageNet-C's corruptions as make_imagenet_c.py made them, one seed per image/corruption/severity, "
                   "JPEG q85 as released): 15 corruptions x 5 severities (+4 extra, apart), 224px, no resize; mCE, "
                   "relative mCE, mean error; data_origin generated")
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
        from robench.datasets.corruptions import corruption_names, generator, libraries, libraries_text

        encoding, select = split_encoding(select)
        val = CleanVal(imagenet_val.val_source(root, self.layout, label_file=self.label_file))
        made = generator()  # also: a clear error when the package is not installed
        known = set(corruption_names("all"))
        cset = self.corruption_set
        cells, _ = self.choose_cells(select, {(c, s) for c in cset.all if c in known for s in cset.severities})
        versions, text = dict(libraries()), libraries_text()
        return [Variant(f"{self.name}/{c}/{s}", CorruptedSource(val, c, s, made, text, encoding),
                        n_official=self.cell_size, info=self.cell_info(c, s, made, versions, encoding), resize=False,
                        stored_size=CROP)
                for c, s in cells]

    def cell_info(self, corruption, severity, generator=None, libraries=None, encoding="jpeg"):
        info = {"corruption": corruption, "severity": severity, "group": self.corruption_set.groups[corruption]}
        if generator is not None:
            info.update(generator=generator, recipe=RECIPE, libraries=libraries, encoding=encoding)
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
            encoding = made.get("encoding") or "jpeg"
            out["generation"] = {"generator": made["generator"], "recipe": made.get("recipe"),
                                 "libraries": made.get("libraries"), "preprocessing": PREPROCESSING,
                                 "seed_rule": SEED_RULE, "encoding": ENCODINGS.get(encoding, encoding)}
            out.setdefault("definitions", {})["generation"] = (
                "how the corrupted images were made on the fly from the val images (not the released ImageNet-C)")
        return out

    def departures(self, record):
        """Beyond a subset of cells: the data origin says how the images were made, so these records get
        a section of their own (never beside released or `robench data synth` ImageNet-C records)."""
        out = super().departures(record)
        made = next((v.get("generator") for v in record["variants"] if v.get("generator")), None)
        out["origin"] = "generated on the fly from ImageNet val" + (f" by {made}" if made else "")
        if any(v.get("encoding") == LOSSLESS for v in record["variants"]):
            out["encoding"] = ENCODINGS[LOSSLESS]
        return out

    def generation_lines(self, root):
        """Lines for ``robench data check``: what would make the pixels, with every library's version."""
        from robench.datasets.corruptions import generator, libraries_text

        return [f"pixels made on the fly by {generator()}; {ENCODINGS['jpeg']}", f"libraries: {libraries_text()}"]

    def write_generated(self, out, **options):
        """A small generated ImageNet val (``out/val/<wnid>/*.JPEG``) to corrupt on the fly."""
        from robench.datasets.imagenet import write_imagenet

        options.setdefault("n_classes", 2)
        options.setdefault("per_class", 2)
        return write_imagenet(out, **options)
