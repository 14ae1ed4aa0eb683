"""Training data: ``ROOT/train`` read in random order, augmented by timm's transforms.

Layout: ``ROOT/train`` and ``ROOT/val``, each either wnid folders (``<wnid>/*.JPEG``) or a
robench shard set (a folder with ``manifest.json``, see ``robench.datasets.shards``). Validation
goes through the evaluation engine as the ``imagenet`` suite; this module only reads ``train``.

Both are read as ``robench.datasets.base.Source`` objects: folders through the evaluation's own
``scan_wnid_folders`` (a ``FolderSource``), shards through ``IndexedShardSource``. Training needs
random access (shuffling, repeated augmentation, exact resume), which tar streams do not give: a
shard set is indexed once (the byte offset of every member: the archive index that evaluation reads
released tars through, ``robench.datasets.archive_index``, cached) and samples are then read with
``pread``, so folders and shards are the same map-style dataset (``source.read(index)``).
"""
import hashlib
import os

from torch.utils.data import DataLoader, Dataset, DistributedSampler

from robench.datasets import shards
from robench.datasets.archive_index import ProcessFiles, tar_index
from robench.datasets.base import Source, scan_wnid_folders
from robench.errors import BadImageError, DatasetLayoutError

TRAIN_LAYOUT = "ROOT/train/<wnid>/*.JPEG or a shard set in ROOT/train (manifest.json)"


class IndexedShardSource(Source):
    """The samples of local tar shards, read at random through a (shard, offset, size) index."""

    def __init__(self, root, paths, index, packed_fingerprint=None):
        self.root, self.paths, self.index = root, paths, index  # index: [(key, shard, offset, size, label)]
        self.packed_fingerprint = packed_fingerprint  # the manifest's: the packed folders' fingerprint
        self._files = ProcessFiles()  # descriptors per process (DataLoader workers fork)

    def __len__(self):
        return len(self.index)

    def iter_range(self, start, stop):
        for i in range(start, min(stop, len(self.index))):
            yield self.read(i)

    def read(self, i):
        """(key, bytes, label) of one sample, by position (as ``FolderSource.read``)."""
        key, shard, offset, size, label = self.index[i]
        data = os.pread(self._files.fd(self.paths[shard], "shard"), size, offset)
        if len(data) != size:
            raise DatasetLayoutError(f"shard {self.paths[shard]}: sample {key} is cut short ({len(data)} of {size} "
                                     "bytes): the shard was truncated or rewritten after indexing")
        return key, data, label

    def fingerprint(self):
        """As FolderSource's: a packed split has the fingerprint of the folders it was packed from (the
        manifest records it: it covers file sizes and times, which a tar index cannot give back)."""
        if self.packed_fingerprint:
            return self.packed_fingerprint
        h = hashlib.sha256()
        for key, _, _, _, label in self.index:
            h.update(f"{key}\t{label}\n".encode())
        return h.hexdigest()[:16]

    def locate(self, key):
        return f"{key} (in shards under {self.root})"

def index_shard(path, expected):
    """[(name, offset, size, label)] of one tar shard, from its member index (one pass over the headers,
    cached; a truncated shard is an error naming it) and its small .cls/.path members.

    Members are grouped by webdataset key as ``robench.datasets.shards`` reads them; ``name`` is
    the sample's folder-layout path when the shard records it (``.path``), else its key.
    """
    try:
        index = tar_index(path)
        with open(path, "rb") as f:
            rows = [_index_row(path, key, sample) for key, sample in _grouped(index, f.fileno())]
    except OSError as e:
        raise DatasetLayoutError(f"shard {path} is damaged or unreadable ({e})") from None
    if len(rows) != expected:
        raise DatasetLayoutError(f"shard {path} holds {len(rows)} samples but the manifest says {expected}")
    return rows


def _grouped(index, fd):
    """(key, {"image": (offset, size), "cls": bytes, "path": bytes}) per sample of an indexed shard: members
    grouped by key (the file name up to its first dot), as ``shards.group_members`` groups a tar stream."""
    key, sample = None, {}
    for name, offset, size in zip(index["names"], index["offsets"], index["sizes"]):
        k, _, ext = os.path.basename(name).partition(".")
        if k != key:
            if key is not None:
                yield key, sample
            key, sample = k, {}
        if ext in ("cls", "path"):
            sample[ext] = os.pread(fd, size, offset)
        else:
            sample["image"] = (offset, size)
    if key is not None:
        yield key, sample


def _index_row(path, key, sample):
    cls = sample.get("cls", b"").decode().strip()
    if "image" not in sample or not cls.isdigit():
        raise DatasetLayoutError(f"shard {path}: sample '{key}' lacks its image or a numeric .cls label")
    name = sample["path"].decode().strip() if "path" in sample else key
    return (name, *sample["image"], int(cls))


def shard_source(directory):
    manifest = shards.read_manifest(directory)
    paths, index = [], []
    for variant in manifest["variants"]:
        source = shards.ShardSource(directory, variant["shards"], variant.get("fingerprint"))
        for shard in variant["shards"]:
            url = source.url(shard)
            if "://" in url or url.startswith("pipe:"):
                raise DatasetLayoutError(
                    f"training reads shards at random, so they must be local files; {url} is not")
            for key, offset, size, label in index_shard(url, int(shard["count"])):
                index.append((key, len(paths), offset, size, label))
            paths.append(url)
    if not index:
        raise DatasetLayoutError(f"shard set {directory} holds no samples (expected {TRAIN_LAYOUT})")
    prints = [variant.get("fingerprint") for variant in manifest["variants"]]
    packed = None
    if all(prints):
        packed = prints[0] if len(prints) == 1 else hashlib.sha256("\n".join(prints).encode()).hexdigest()[:16]
    return IndexedShardSource(directory, paths, index, packed)


def pack_train_split(train_dir, out, shard_size=1000, progress=False):
    """Packs ``train_dir/<wnid>/*`` into a shard set at ``out`` with robench's shard writer (bytes
    unchanged); ``out`` can then be ``ROOT/train``. Returns the manifest path."""
    from robench.datasets.base import Variant
    from robench.datasets.shard_writer import write_shard_set
    from robench.datasets.suite import Suite

    class TrainSplit(Suite):
        name, layout = "imagenet-train", TRAIN_LAYOUT

        def scan(self, root, select=None):
            return [Variant("imagenet/train", scan_wnid_folders(root, what=TRAIN_LAYOUT))]

    return write_shard_set(TrainSplit(), train_dir, out, shard_size=shard_size, progress=progress)


def train_source(root):
    """The training samples under ``root`` (``root/train``): a FolderSource or an IndexedShardSource."""
    directory = os.path.join(os.fspath(root), "train")
    if shards.is_shard_root(directory):
        return shard_source(directory)
    if not os.path.isdir(directory):
        raise DatasetLayoutError(f"training root {root} has no train/ folder (expected {TRAIN_LAYOUT})")
    return scan_wnid_folders(directory, what=TRAIN_LAYOUT)


def val_root(root):
    """The root to give the ``imagenet`` suite: ``root/val`` when that is a shard set, else ``root``."""
    val = os.path.join(os.fspath(root), "val")
    return val if shards.is_shard_root(val) else os.fspath(root)


def check_val(root):
    """Fails before training, not after the first epoch, when ROOT/val is missing or unreadable."""
    from robench.datasets import get_suite

    if not os.path.isdir(os.path.join(os.fspath(root), "val")):
        raise DatasetLayoutError(f"training root {root} has no val/ folder (expected ROOT/val/<wnid>/*.JPEG "
                                 "or a shard set in ROOT/val); validation needs it")
    return get_suite("imagenet").variants(val_root(root))


class TrainDataset(Dataset):
    def __init__(self, source, transform):
        self.source, self.transform = source, transform

    def __len__(self):
        return len(self.source)

    def __getitem__(self, index):
        from robench.engine.data import decode_image

        key, data, label = self.source.read(index)
        try:
            image = decode_image(data)
        except Exception as e:
            raise BadImageError(f"cannot decode training image {self.source.locate(key)} "
                                f"({type(e).__name__}: {e}); fix or remove the file") from None
        return self.transform(image), label


def train_transform(recipe, data_config):
    """timm's training transform for the recipe (normalised float tensors, erasing included)."""
    from timm.data import create_transform

    from robench.train.compat import patch_posterize

    patch_posterize()
    return create_transform(
        input_size=recipe.input_size, is_training=True, scale=recipe.scale, ratio=recipe.ratio,
        hflip=recipe.hflip, color_jitter=recipe.color_jitter, auto_augment=recipe.auto_augment,
        interpolation=recipe.train_interpolation, mean=data_config["mean"], std=data_config["std"],
        re_prob=recipe.reprob, re_mode=recipe.remode, re_count=recipe.recount)


def make_sampler(dataset, recipe, runtime):
    """timm's RepeatAugSampler for repeated augmentation (DeiT's sampler), else a DistributedSampler;
    both shuffle from the epoch number, so a resumed epoch sees the same order. Below as many devices as
    repeats, repeated augmentation is off (``recipes.repeated_aug_regime``), said in one line."""
    from robench.train.recipes import RA_ACROSS_DEVICES, RA_OFF_BELOW_WORLD, repeated_aug_regime

    regime = repeated_aug_regime(recipe, runtime.world)
    if regime == RA_OFF_BELOW_WORLD and runtime.is_main:
        import sys

        sys.stderr.write(f"robench: repeated augmentation ({recipe.repeated_aug} copies) is off: {runtime.world} "
                         f"device(s) would put copies of one image into one device batch, unlike the paper's "
                         f"runs; the record says so (training.repeated_aug)\n")
    if regime == RA_ACROSS_DEVICES:
        from timm.data.distributed_sampler import RepeatAugSampler

        return RepeatAugSampler(dataset, num_replicas=runtime.world, rank=runtime.rank,
                                num_repeats=recipe.repeated_aug)
    return DistributedSampler(dataset, num_replicas=runtime.world, rank=runtime.rank, shuffle=True)


def make_train_loader(dataset, sampler, batch_size, workers, pin_memory):
    """Drops the last partial batch, as DeiT does (and mixup needs equal, even batches)."""
    if len(sampler) < batch_size:
        raise DatasetLayoutError(
            f"each device gets {len(sampler)} training images per epoch, fewer than its batch of "
            f"{batch_size}: use a smaller --batch-size or more training images")
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers,
                      pin_memory=pin_memory, drop_last=True, persistent_workers=False,
                      prefetch_factor=4 if workers else None)


