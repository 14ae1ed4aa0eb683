"""Where evaluation runs: the device, and this process's rank in a torchrun world.

Every rank takes a contiguous, unpadded slice of each variant and the metric states are summed
with one all-reduce, so counts are exact for any world size (DistributedSampler would pad).
"""
import os
from dataclasses import dataclass

from robench.errors import RobenchError


@dataclass
class Runtime:
    device: object  # torch.device
    rank: int = 0
    world: int = 1
    backend: str = None

    @property
    def is_main(self):
        return self.rank == 0

    def all_reduce_sum(self, tensor):
        """Sum of ``tensor`` over ranks (float64 on CPU in, float64 on CPU out)."""
        if self.world == 1:
            return tensor
        import torch.distributed as dist

        work = tensor.to(self.device if self.backend == "nccl" else "cpu")
        dist.all_reduce(work, op=dist.ReduceOp.SUM)
        return work.cpu()

    def barrier(self):
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()


def resolve_device(name="auto"):
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RobenchError("--device cuda was asked for but torch sees no CUDA device")
    if name == "xla":
        import torch_xla.core.xla_model as xm  # noqa: F401  (only with the xla extra)

        return xm.xla_device()
    return torch.device(name)


def init_runtime(device="auto"):
    """The runtime for this process; under torchrun (WORLD_SIZE > 1) joins the process group."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    dev = resolve_device(device)
    if world == 1:
        return Runtime(dev)
    import torch
    import torch.distributed as dist

    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if dev.type == "cuda":
        dev = torch.device("cuda", local_rank)
        torch.cuda.set_device(dev)
    backend = "nccl" if dev.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return Runtime(dev, rank, world, backend)


def contiguous_slice(n, index, count):
    """[start, stop) of part ``index`` of ``count`` contiguous parts of range(n); sizes differ by ≤ 1."""
    if not 0 <= index < count:
        raise RobenchError(f"slice {index} of {count} does not exist (index must be 0..{count - 1})")
    base, extra = divmod(n, count)
    start = index * base + min(index, extra)
    return start, start + base + (1 if index < extra else 0)
