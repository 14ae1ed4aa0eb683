"""Checking, before the first image is decoded, that the batches a run keeps in flight fit in memory.

An absurd ``--batch-size`` (or a large ``--input-size``) used to surface as an out-of-memory kill of a
DataLoader worker, or of the whole machine, minutes into a run. The input batches are the part of a
run's memory that is known exactly in advance: ``batch x 3 x H x W`` float32 values each (workers
normalise in float32 when the models of a group share a normalisation; uint8 otherwise, so this is
an upper bound), and a fixed number of them exist at once:

- ``workers x PREFETCH`` batches waiting in the DataLoader's queue (``data.make_loader``),
- one batch per forward pass running at once (``runners.Runners.count``: ``--threads`` on the CPU),
- one being handed over.

Activations come on top and depend on the architecture, so the check refuses only what cannot fit
(the inputs alone need more than the memory available) and says how to lower it. torchrun ranks on
one host share its memory: the estimate is multiplied by ``LOCAL_WORLD_SIZE``.
"""
import os

from robench.errors import RobenchError

PREFETCH = 2  # the DataLoader's prefetch_factor in data.make_loader
GIB = 1024 ** 3


class MemoryEstimateError(RobenchError):
    """The input batches of a run cannot fit in the memory of its machine or device."""


def batch_bytes(batch_size, input_size):
    """Bytes of one float32 input batch at ``input_size`` ((C, H, W) or a side)."""
    if isinstance(input_size, int):
        input_size = (3, input_size, input_size)
    channels, height, width = input_size[-3:] if len(input_size) >= 3 else (3, *input_size[-2:])
    return batch_size * channels * height * width * 4


def batches_in_flight(workers, forward_passes):
    return workers * PREFETCH + forward_passes + 1


def available_host_bytes():
    """MemAvailable of /proc/meminfo (what can be allocated without swapping), or None where unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def host_estimate(batch_size, input_sizes, workers, forward_passes, local_world=1):
    """Bytes of host memory the input batches of one run need at most: the largest input size's batch
    times the batches in flight, times the ranks sharing the host."""
    largest = max(batch_bytes(batch_size, size) for size in input_sizes)
    return largest * batches_in_flight(workers, forward_passes) * local_world


def check_batch_memory(batch_size, input_sizes, workers, forward_passes, device, available=None):
    """Raises MemoryEstimateError, with the numbers and what to lower, when the inputs cannot fit.

    ``available``: host bytes (tests pass it; by default MemAvailable). On a CUDA device the batches
    of the forward passes must also fit in the device's free memory.
    """
    input_sizes = list(input_sizes)
    if not input_sizes:
        return
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE") or 1)
    need = host_estimate(batch_size, input_sizes, workers, forward_passes, local_world)
    available = available_host_bytes() if available is None else available
    largest = max(input_sizes, key=lambda s: batch_bytes(1, s))
    one = batch_bytes(batch_size, largest)
    if available is not None and need > available:
        ranks = f" x {local_world} ranks on this host" if local_world > 1 else ""
        raise MemoryEstimateError(
            f"the input batches alone would need {need / GIB:.1f} GiB of memory ({one / GIB:.2f} GiB per batch of "
            f"{batch_size} at {_side(largest)} x {batches_in_flight(workers, forward_passes)} in flight: "
            f"{workers} workers x {PREFETCH} prefetched + {forward_passes} forward pass(es) + 1{ranks}), more than "
            f"the {available / GIB:.1f} GiB available; lower --batch-size, --workers or --threads")
    if getattr(device, "type", None) == "cuda":
        import torch

        free, _ = torch.cuda.mem_get_info(device)
        on_device = one * (forward_passes + 1)
        if on_device > free:
            raise MemoryEstimateError(
                f"the input batches alone would need {on_device / GIB:.1f} GiB on {device} ({one / GIB:.2f} GiB per "
                f"batch of {batch_size} at {_side(largest)}), more than its {free / GIB:.1f} GiB free; lower --batch-size")


def _side(input_size):
    if isinstance(input_size, int):
        return f"{input_size} px"
    height, width = input_size[-2:]
    return f"{height} px" if height == width else f"{height}x{width} px"
