"""Decoding and batching the samples of one slice of a variant, in DataLoader workers.

The slice is a list of index ranges (one range, or what an interrupted run left to do). Each
worker takes a contiguous part of it, so folders and tar shards alike are read once, in order,
and batches are collated in the worker as uint8 (one shared-memory tensor per batch crosses the
process boundary, not one per image). For a CPU run whose models share one normalisation, the
workers also normalise (the same two tensor ops the main process would run, so the same numbers):
the main process then only runs models. Every batch carries the variant-level index of each sample,
which is what progress files record and predictions are sorted by. A file that fails to decode
travels to the main process as a "bad" item: the engine then stops with the file's name, or
counts it with --skip-bad-images.

With ``encoded=True`` (``--decode gpu``) the workers only read each file and check its JPEG header;
batches travel as the files' bytes (``gpu_decode.EncodedBatch``) and the main process decodes them
on the GPU (``gpu_decode.decode_batch``). Files that are not JPEGs for nvjpeg are decoded here as above.
"""
import io
from dataclasses import dataclass, field
from typing import List

import torch
from PIL import Image
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from robench.datasets.base import Unreadable
from robench.engine import ranges as R
from robench.errors import RobenchError


def decode_image(data):
    """Encoded bytes -> RGB PIL image (grayscale and CMYK files are converted)."""
    img = Image.open(io.BytesIO(data))
    img.load()
    return img.convert("RGB") if img.mode != "RGB" else img


class SampleAccounting:
    """What every kind of batch counts: its decodable samples (``indices``) and its bad ones (``bad``)."""

    @property
    def size(self):
        """Samples this batch accounts for, decodable or not."""
        return len(self.indices) + len(self.bad)

    def all_indices(self):
        return self.indices + [b[0] for b in self.bad]


@dataclass
class Batch(SampleAccounting):
    images: torch.Tensor  # uint8 N x 3 x H x W (the decodable samples), or float when normalised
    labels: torch.Tensor  # 1k class index per image
    keys: List[str]
    indices: List[int]  # position of each image in its variant
    bad: List[tuple] = field(default_factory=list)  # (index, key, reason)

    def pin_memory(self):
        self.images = self.images.pin_memory()
        return self


def normalise(images, mean, std):
    """uint8 batch -> model input; the main process and the workers both use exactly this."""
    return torch.sub(images, mean).div_(std)


def collate(items, norm=None):
    """(index, key, label, image or None, reason or None) items -> Batch; ``norm``: (mean, std)."""
    good = [it for it in items if it[4] is None]
    bad = [(it[0], it[1], it[4]) for it in items if it[4] is not None]
    if good:
        images = torch.stack([torch.as_tensor(it[3]) for it in good])
        if norm is not None:
            images = normalise(images, *norm)
    else:
        images = torch.empty(0, 3, 1, 1, dtype=torch.uint8)
    labels = torch.tensor([it[2] for it in good], dtype=torch.long)
    return Batch(images, labels, [it[1] for it in good], [it[0] for it in good], bad)


class SliceDataset(IterableDataset):
    """Yields collated batches of the samples in ``ranges`` (this worker's contiguous part).

    ``expect_size``: images used as released (ImageNet-C, Stylized-ImageNet) must be that many pixels
    square; one of another size is reported like an undecodable file, naming it, instead of being
    silently resized to the model's input."""

    def __init__(self, source, ranges, transform, batch_size, norm=None, expect_size=None, encoded=False):
        self.source, self.ranges = source, R.normalise(ranges)
        self.transform, self.batch_size, self.norm = transform, batch_size, norm
        self.expect_size = expect_size
        self.encoded = encoded  # --decode gpu: JPEGs leave as bytes (gpu_decode.EncodedBatch)

    def __iter__(self):
        try:
            yield from self._batches()
        except RobenchError as e:  # damaged data (a truncated shard): passed on as itself, see make_loader
            if get_worker_info() is None:
                raise
            yield e

    def _batches(self):
        mine = self.ranges
        info = get_worker_info()
        if info is not None:
            mine = R.part(mine, info.id, info.num_workers)
        items = []
        for start, stop in mine:
            for offset, (key, data, label) in enumerate(self.source.iter_range(start, stop)):
                items.append(self._item(start + offset, key, data, label))
                if len(items) == self.batch_size:
                    yield self._collate(items)
                    items = []
        if items:
            yield self._collate(items)

    def _collate(self, items):
        if self.encoded:
            from robench.engine.gpu_decode import collate_encoded

            return collate_encoded(items)
        return collate(items, self.norm)

    def _item(self, index, key, data, label):
        if isinstance(data, Unreadable):
            return index, key, label, None, data.reason
        if self.encoded:
            from robench.engine.gpu_decode import encoded_item

            return encoded_item(index, key, label, data, self.transform, self.expect_size)
        return (index, key, label, *decoded(data, self.transform, self.expect_size))


def size_error(width, height, side):
    return (f"image is {width}x{height}, not the {side}x{side} of images used as released (they are never "
            "resized silently)")


def decoded(data, transform, expect_size=None):
    """(transformed image, None) for an image the CPU decodes, or (None, why not): undecodable, or not
    ``expect_size`` pixels square where images are used as released. The CPU path's one decode, also
    used by ``--decode gpu`` for the files nvjpeg does not take."""
    try:
        image = decode_image(data)
    except Exception as e:  # any decoder failure: reported by name in the main process
        return None, f"{type(e).__name__}: {e}"
    if expect_size and image.size != (expect_size, expect_size):
        return None, size_error(*image.size, expect_size)
    return transform(image), None


def _as_is(batch):
    return batch


def make_loader(source, ranges, transform, batch_size, workers, pin_memory=False, norm=None, expect_size=None,
                encoded=False):
    """A DataLoader over ``ranges`` of ``source`` that yields ``Batch``es (normalised with ``norm``), or
    with ``encoded`` ``gpu_decode.EncodedBatch``es (JPEG bytes) for the main process to decode."""
    if encoded and norm is not None:
        raise ValueError("encoded batches carry bytes: they are normalised after decoding")
    dataset = SliceDataset(source, ranges, transform, batch_size, norm, expect_size, encoded)
    n_batches = -(-R.total(dataset.ranges) // batch_size)
    workers = max(0, min(workers, n_batches))
    loader = DataLoader(dataset, batch_size=None, num_workers=workers, collate_fn=_as_is,
                        pin_memory=pin_memory, persistent_workers=False,
                        prefetch_factor=2 if workers else None)
    return _reraise_data_errors(loader)


def _reraise_data_errors(loader):
    """Raises a worker's RobenchError as itself: one clear line, not wrapped in a worker traceback."""
    for item in loader:
        if isinstance(item, RobenchError):
            raise item
        yield item
