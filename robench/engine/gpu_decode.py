"""JPEGs decoded on the GPU (``--decode gpu``): the workers read bytes, the main process decodes.

With ``--decode gpu`` the DataLoader workers neither decode nor resize a JPEG: they read its bytes,
check its header (a JPEG's size is in its SOF marker, so images used as released keep their
stored-size check without being decoded) and ship the batch's files end to end in one uint8 tensor.
The main process decodes them with torchvision's batched ``decode_jpeg(list, device="cuda")``
(nvjpeg), groups the decoded images by size and resizes + center-crops each group on the device
exactly as the CPU path's timm transform (``robench.models.preprocess.build_transform``) does:
``Resize(int(size / crop_pct))`` of the shorter side with the model's interpolation and
``antialias=True``, then ``CenterCrop(size)`` (other crop modes run timm's own transform on the
tensors). What nvjpeg does not get is decoded on the CPU like the CPU path, through PIL and the
same transform, and joins its batch in place: non-JPEG files (Stylized-ImageNet's and cue-conflict's
PNGs) and CMYK/YCCK or arithmetic-coded JPEGs in the workers, files ``decode_jpeg`` rejects in the
main process. Grayscale JPEGs come out as RGB (``ImageReadMode.RGB``), like PIL's ``convert("RGB")``.

The pixels differ slightly from the CPU decoder's (IDCT and chroma upsampling of nvjpeg against
libjpeg-turbo, tensor against PIL resampling), so the decoder is part of the protocol: records say
``run.decoder``, a GPU-decoded record's measurement id includes it and the leaderboard gives such
records their own section. ``decode_batch(..., device="cpu")`` runs the same code on the CPU with
libjpeg-turbo (what the tests check).
"""
import math
from dataclasses import dataclass, field
from typing import List

import torch

from robench.engine.data import SampleAccounting, decoded, size_error
from robench.errors import RobenchError

DECODERS = ("cpu", "gpu")
JPEG_MAGIC = b"\xff\xd8\xff"
# SOF markers nvjpeg decodes: baseline, extended sequential, progressive (Huffman-coded)
GPU_SOF = (0xC0, 0xC1, 0xC2)
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def cuda_available():
    return torch.cuda.is_available()


def check_decode(decode, device="auto"):
    """Raises one clear line when ``decode`` cannot run here (before any work)."""
    if decode not in DECODERS:
        raise RobenchError(f"unknown decoder '{decode}': use {' or '.join(DECODERS)}")
    if decode == "cpu":
        return
    name = getattr(device, "type", device) or "auto"
    if name not in ("auto", "cuda"):
        raise RobenchError(f"--decode gpu decodes JPEGs on the CUDA device that runs the models; --device {name} "
                           "has none: use --device cuda (or auto), or --decode cpu")
    if not cuda_available():
        raise RobenchError("--decode gpu needs a CUDA device and torch sees none (torch.cuda.is_available() is "
                           "False); use --decode cpu")


def decode_device(device):
    """The device a GPU-decoding run decodes on: the run's own CUDA device."""
    if getattr(device, "type", None) != "cuda":
        raise RobenchError(f"--decode gpu needs the models on a CUDA device, not {device}; use --device cuda "
                           "(or auto), or --decode cpu")
    return device


def jpeg_header(data):
    """(height, width, components, SOF marker) from a JPEG's frame header; None for anything else."""
    if len(data) < 4 or bytes(data[:3]) != JPEG_MAGIC:
        return None
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image or start of scan before any frame header
            return None
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if marker in _SOF:
            if i + 10 > n:
                return None
            height = int.from_bytes(data[i + 5:i + 7], "big")
            width = int.from_bytes(data[i + 7:i + 9], "big")
            return height, width, data[i + 9], marker
        i += 2 + length
    return None


def for_gpu(header):
    """True when nvjpeg should decode this JPEG: Huffman-coded, grayscale or three components."""
    return header is not None and header[3] in GPU_SOF and header[2] in (1, 3) and header[0] > 0 and header[1] > 0


@dataclass
class EncodedBatch(SampleAccounting):
    """A batch as the workers ship it with --decode gpu: JPEG bytes end to end, plus the samples the
    workers decoded themselves (not JPEG, CMYK, ...) as uint8 pixels; ``decode_batch`` makes a Batch."""

    data: torch.Tensor  # uint8, 1-D: the batch's JPEG files one after the other
    spans: List[tuple]  # (position in the batch, start, stop) of each JPEG in ``data``
    pixels: torch.Tensor  # uint8 K x 3 x H x W: samples decoded in the workers
    pixel_positions: List[int]  # their positions in the batch
    labels: torch.Tensor
    keys: List[str]
    indices: List[int]
    bad: List[tuple] = field(default_factory=list)

    def pin_memory(self):
        return self  # decode_jpeg reads the bytes from host memory itself; pixels are few


def encoded_item(index, key, label, data, transform, expect_size):
    """A worker's part with --decode gpu: (index, key, label, payload, reason). The payload is
    ("jpeg", bytes) for nvjpeg, or ("pixels", uint8 tensor) decoded here like the CPU path."""
    header = jpeg_header(data)
    if for_gpu(header):
        height, width = header[0], header[1]
        if expect_size and (width, height) != (expect_size, expect_size):
            return index, key, label, None, size_error(width, height, expect_size)
        return index, key, label, ("jpeg", bytes(data)), None
    pixels, reason = decoded(data, transform, expect_size)
    return index, key, label, None if reason else ("pixels", torch.as_tensor(pixels)), reason


def collate_encoded(items):
    """Worker items -> EncodedBatch (one bytes tensor and one pixels tensor cross the process boundary)."""
    good = [it for it in items if it[4] is None]
    bad = [(it[0], it[1], it[4]) for it in items if it[4] is not None]
    chunks, spans, pixels, pixel_positions, at = [], [], [], [], 0
    for pos, it in enumerate(good):
        kind, payload = it[3]
        if kind == "jpeg":
            chunks.append(payload)
            spans.append((pos, at, at + len(payload)))
            at += len(payload)
        else:
            pixels.append(payload)
            pixel_positions.append(pos)
    data = torch.frombuffer(bytearray(b"".join(chunks)), dtype=torch.uint8) if at else torch.empty(0, dtype=torch.uint8)
    stacked = torch.stack(pixels) if pixels else torch.empty(0, 3, 1, 1, dtype=torch.uint8)
    labels = torch.tensor([it[2] for it in good], dtype=torch.long)
    return EncodedBatch(data, spans, stacked, pixel_positions, labels, [it[1] for it in good],
                        [it[0] for it in good], bad)


class Geometry:
    """The CPU path's resize + crop (timm's ``transforms_imagenet_eval`` for a pixel key, as
    ``build_transform`` makes it) on uint8 image tensors (N x 3 x H x W, one size), on any device:
    center (shorter side to int(size / crop_pct), or timm's ResizeKeepRatio for a non-square input),
    squash (both sides), border (longer side, then padded with the mean colour); then a center crop."""

    def __init__(self, key):
        from timm.data.constants import DEFAULT_CROP_PCT, IMAGENET_DEFAULT_MEAN
        from timm.data.transforms import str_to_interp_mode
        from torchvision.transforms import InterpolationMode

        cfg = dict(key)
        size = cfg["input_size"]
        self.size = tuple(size[-2:]) if isinstance(size, (tuple, list)) else (size, size)
        crop_pct = cfg.get("crop_pct") or DEFAULT_CROP_PCT
        self.scale = tuple(math.floor(x / crop_pct) for x in self.size)  # as timm's transforms_imagenet_eval
        self.mode = cfg.get("crop_mode") or "center"
        if self.mode not in ("center", "squash", "border"):
            raise RobenchError(f"--decode gpu: unknown crop_mode '{self.mode}'")
        self.interpolation = str_to_interp_mode(cfg.get("interpolation") or "bilinear")
        if self.interpolation == InterpolationMode.NEAREST:
            self.interpolation = InterpolationMode.NEAREST_EXACT  # PIL's nearest on tensors (torch's is off by half)
        self.fill = [round(255 * v) for v in IMAGENET_DEFAULT_MEAN]  # build_transform passes no mean: timm's default

    def resized_size(self, height, width):
        """The size timm's Resize / ResizeKeepRatio gives an image of ``height`` x ``width``."""
        if self.mode == "squash":
            return list(self.scale)
        if self.mode == "center" and self.scale[0] == self.scale[1]:
            short, long = min(height, width), max(height, width)
            s = self.scale[0]
            return [s, int(s * long / short)] if height <= width else [int(s * long / short), s]
        ratio_h, ratio_w = height / self.scale[0], width / self.scale[1]
        longest = 1.0 if self.mode == "border" else 0.0
        ratio = max(ratio_h, ratio_w) * longest + min(ratio_h, ratio_w) * (1.0 - longest)
        return [round(height / ratio), round(width / ratio)]

    def __call__(self, images):
        from torchvision.transforms.v2 import functional as F

        height, width = images.shape[-2:]
        size = self.resized_size(height, width)
        if list(size) != [height, width]:
            images = F.resize(images, size, interpolation=self.interpolation, antialias=True)
        if self.mode == "border":
            return self._crop_or_pad(images)
        return F.center_crop(images, list(self.size))

    def _crop_or_pad(self, images):
        """timm's center_crop_or_pad with the fill colour per channel."""
        from torchvision.transforms.v2 import functional as F

        (ch, cw), (h, w) = self.size, images.shape[-2:]
        if ch > h or cw > w:
            top, left = max(ch - h, 0) // 2, max(cw - w, 0) // 2
            canvas = torch.tensor(self.fill, dtype=images.dtype, device=images.device).view(1, -1, 1, 1)
            canvas = canvas.expand(images.shape[0], -1, max(ch, h), max(cw, w)).clone()
            canvas[..., top:top + h, left:left + w] = images
            images = canvas
        return F.center_crop(images, [ch, cw])


class BatchDecoder:
    """EncodedBatch -> Batch with uint8 images on ``device`` (JPEGs decoded there, by nvjpeg on CUDA)."""

    def __init__(self, key, device, expect_size=None):
        from robench.models.preprocess import build_transform

        self.device = torch.device(device)
        self.geometry = Geometry(key)
        self.transform = build_transform(key)  # the CPU path's, for the files nvjpeg rejects
        self.expect_size = expect_size
        self.fallbacks = 0  # JPEGs that decode_jpeg rejected and PIL decoded
        self.on_device = 0  # JPEGs decoded by decode_jpeg

    def __call__(self, batch):
        return decode_batch(batch, self)

    def decode(self, files):
        """decode_jpeg of every file in one call; per file when that fails: a tensor or an error each."""
        from torchvision.io import ImageReadMode, decode_jpeg

        if not files:
            return []
        try:
            return list(decode_jpeg(files, mode=ImageReadMode.RGB, device=self.device))
        except Exception:  # one bad file fails the batched call: find which
            out = []
            for f in files:
                try:
                    out.append(decode_jpeg(f, mode=ImageReadMode.RGB, device=self.device))
                except Exception as e:
                    out.append(e)
            return out

    def on_cpu(self, data):
        """A file decode_jpeg rejected, decoded as the CPU path does: (uint8 tensor, None) or (None, reason)."""
        pixels, reason = decoded(data, self.transform, self.expect_size)
        return (None, reason) if reason else (torch.as_tensor(pixels), None)


def decode_batch(batch, decoder):
    """Decodes an EncodedBatch's JPEGs on ``decoder.device``, resizes and crops them there, and joins
    them with the samples decoded on the CPU, in batch order; files nothing can decode become bad items."""
    from robench.engine.data import Batch

    n = len(batch.keys)
    images, reasons = [None] * n, {}
    files = [batch.data[a:b] for _, a, b in batch.spans]
    positions = [p for p, _, _ in batch.spans]
    decoded = decoder.decode(files)
    by_shape = {}
    for pos, f, out in zip(positions, files, decoded):
        side = decoder.expect_size
        if isinstance(out, torch.Tensor) and out.dim() == 3 and out.shape[0] == 3:
            if side and tuple(out.shape[1:]) != (side, side):
                reasons[pos] = size_error(out.shape[2], out.shape[1], side)
                continue
            decoder.on_device += 1
            by_shape.setdefault(tuple(out.shape), []).append((pos, out))
            continue
        decoder.fallbacks += 1
        pixels, reason = decoder.on_cpu(f.numpy().tobytes())
        if reason is not None:
            reasons[pos] = reason
        else:
            images[pos] = pixels.to(decoder.device)
    for group in by_shape.values():
        done = decoder.geometry(torch.stack([img for _, img in group]))
        for (pos, _), img in zip(group, done):
            images[pos] = img
    if len(batch.pixel_positions):
        moved = batch.pixels.to(decoder.device)
        for k, pos in enumerate(batch.pixel_positions):
            images[pos] = moved[k]
    keep = [i for i in range(n) if i not in reasons]
    bad = list(batch.bad) + [(batch.indices[i], batch.keys[i], reasons[i]) for i in sorted(reasons)]
    if keep:
        stacked = torch.stack([images[i] for i in keep])
    else:
        stacked = torch.empty(0, 3, 1, 1, dtype=torch.uint8, device=decoder.device)
    return Batch(stacked, batch.labels[keep] if keep else torch.zeros(0, dtype=torch.long),
                 [batch.keys[i] for i in keep], [batch.indices[i] for i in keep], bad)

