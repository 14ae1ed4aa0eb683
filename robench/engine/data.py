"""Decoding and batching one slice of a variant, in DataLoader workers.

Each worker takes a contiguous piece of the slice, so samples are read once, in order, from
folders or tar shards alike. A file that fails to decode travels to the main process as a
"bad" item: the engine then stops with the file's name, or counts it with --skip-bad-images.
"""
import io
from dataclasses import dataclass, field
from typing import List

import torch
from PIL import Image
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from robench.engine.runtime import contiguous_slice


def decode_image(data):
    """Encoded bytes -> RGB PIL image (grayscale and CMYK files are converted)."""
    img = Image.open(io.BytesIO(data))
    img.load()
    return img.convert("RGB") if img.mode != "RGB" else img


class SliceDataset(IterableDataset):
    def __init__(self, source, start, stop, transform):
        self.source, self.start, self.stop, self.transform = source, start, stop, transform

    def __iter__(self):
        start, stop = self.start, self.stop
        info = get_worker_info()
        if info is not None:
            a, b = contiguous_slice(stop - start, info.id, info.num_workers)
            start, stop = start + a, start + b
        for key, data, label in self.source.iter_range(start, stop):
            try:
                yield self.transform(decode_image(data)), label, key, None
            except Exception as e:  # any decoder failure: reported by name in the main process
                yield None, label, key, f"{type(e).__name__}: {e}"


@dataclass
class Batch:
    images: torch.Tensor  # uint8, N x 3 x H x W
    labels: torch.Tensor
    keys: List[str]
    bad: List[tuple] = field(default_factory=list)  # (key, reason)

    def pin_memory(self):
        self.images = self.images.pin_memory()
        return self


def collate(items):
    good = [it for it in items if it[3] is None]
    bad = [(it[2], it[3]) for it in items if it[3] is not None]
    images = torch.stack([torch.as_tensor(it[0]) for it in good]) if good else torch.empty(0, 3, 1, 1, dtype=torch.uint8)
    labels = torch.tensor([it[1] for it in good], dtype=torch.long)
    return Batch(images, labels, [it[2] for it in good], bad)


def make_loader(source, start, stop, transform, batch_size, workers, pin_memory=False):
    dataset = SliceDataset(source, start, stop, transform)
    workers = max(0, min(workers, stop - start))
    return DataLoader(dataset, batch_size=batch_size, num_workers=workers, collate_fn=collate,
                      pin_memory=pin_memory, persistent_workers=False,
                      prefetch_factor=4 if workers else None)
