"""Where evaluation runs: the device, and this process's rank among the processes of a run.

Every rank takes a contiguous, unpadded slice of each variant and the metric states are summed
with one all-reduce, so counts are exact for any world size (DistributedSampler would pad).
Ranks come from torchrun's environment (any device), from Slurm's in an ``srun`` step of several
tasks (``robench.engine.slurm_ranks``), or from torch_xla's PJRT runtime when the
processes were started by ``torch_xla``'s own launcher. Collectives on small Python objects
(which slices are done, skipped files, predictions) go through ``torch.distributed`` on the CPU
(gloo) or the GPU (nccl); metric states are float64 and are always reduced exactly.
"""
import functools
import os
from dataclasses import dataclass

from robench.errors import RobenchError, first_line

DEFAULT_TIMEOUT_S = 1800  # a collective that waits longer than this for another rank fails (one line)


class RankTimeout(RobenchError):
    """A collective waited too long for another rank (stopped, hung file system, dead node)."""


def leave_after_rank_timeout(error, code=2):
    """Prints ``error`` as one line and ends the process without running C++ destructors.

    After a collective timed out, gloo still owns threads blocked on the dead peer; a normal
    interpreter exit destroys them while joinable and the process aborts ("terminate called
    without an active exception", signal 6) instead of exiting with ``code``. Python-level
    cleanup (``finally`` blocks, atomic writes) has already run by the time this is called.
    """
    import sys

    print(f"Error: {error}", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _collective(step):
    """Turns a failed or timed-out collective into one line naming this rank and the step."""

    def wrap(method):
        @functools.wraps(method)
        def run(self, *args, **kwargs):
            if self.world == 1:
                return method(self, *args, **kwargs)
            try:
                return method(self, *args, **kwargs)
            except RuntimeError as e:
                first = first_line(e, "no message")
                raise RankTimeout(f"rank {self.rank} of {self.world}: {step} failed waiting for the other ranks "
                                  f"({first}); a rank stopped or died. Finished slice results are kept: rerun the same "
                                  "command (timeout: --dist-timeout / ROBENCH_DIST_TIMEOUT)") from None

        return run

    return wrap


def dist_timeout(seconds=None):
    """The collectives' timeout: the given seconds, ROBENCH_DIST_TIMEOUT, or 30 minutes."""
    import datetime

    value = seconds or os.environ.get("ROBENCH_DIST_TIMEOUT") or DEFAULT_TIMEOUT_S
    try:
        value = float(value)
    except ValueError:
        raise RobenchError(f"ROBENCH_DIST_TIMEOUT={value!r} is not a number of seconds") from None
    if value <= 0:
        raise RobenchError("the distributed timeout must be a positive number of seconds")
    return datetime.timedelta(seconds=value)


@dataclass
class Runtime:
    device: object  # torch.device
    rank: int = 0
    world: int = 1
    backend: str = None  # the torch.distributed backend of the collectives: gloo | nccl

    @property
    def is_main(self):
        return self.rank == 0

    def _on_wire(self, tensor):
        return tensor.to(self.device) if self.backend == "nccl" else tensor.cpu()

    @_collective("summing metric states (all_reduce)")
    def all_reduce_sum(self, tensor):
        """Sum of ``tensor`` over ranks (float64 on CPU in, float64 on CPU out)."""
        if self.world == 1:
            return tensor
        import torch.distributed as dist

        work = self._on_wire(tensor)
        dist.all_reduce(work, op=dist.ReduceOp.SUM)
        return work.cpu()

    @_collective("gathering results (all_gather_object)")
    def all_gather_objects(self, obj):
        """[obj of rank 0, obj of rank 1, ...] on every rank (picklable objects)."""
        if self.world == 1:
            return [obj]
        import torch.distributed as dist

        parts = [None] * self.world
        dist.all_gather_object(parts, obj)
        return parts

    @_collective("gathering predictions (gather_object)")
    def gather_objects(self, obj):
        """[obj of rank 0, obj of rank 1, ...] on rank 0; None on the other ranks."""
        if self.world == 1:
            return [obj]
        import torch.distributed as dist

        parts = [None] * self.world if self.is_main else None
        dist.gather_object(obj, parts, dst=0)
        return parts

    @_collective("agreeing on the work to do (broadcast_object_list)")
    def broadcast_object(self, obj):
        """Rank 0's ``obj`` on every rank: decisions that must agree (e.g. which slices to run)."""
        if self.world == 1:
            return obj
        import torch.distributed as dist

        box = [obj if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    @_collective("waiting at a barrier")
    def barrier(self):
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()

    def sync(self):
        """Waits for queued device work (XLA executes lazily)."""
        if self.device.type == "xla":
            import torch_xla

            torch_xla.sync()


def resolve_device(name="auto"):
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RobenchError("--device cuda was asked for but torch sees no CUDA device")
    if name == "xla":
        try:
            import torch_xla
        except ImportError:
            raise RobenchError("--device xla needs torch_xla (pip install 'robench[xla]' with the "
                               "torch version torch_xla was built for; set PJRT_DEVICE=TPU|CUDA|CPU)") from None
        return torch_xla.device()
    return torch.device(name)


def init_runtime(device="auto", timeout=None):
    """The runtime for this process; joins the process group when the run has several processes.
    ``timeout`` (seconds): how long a collective waits for the other ranks before failing."""
    dev = resolve_device(device)
    from robench.engine.slurm_ranks import torchrun_env

    os.environ.update(torchrun_env(os.environ))  # srun tasks: ranks from Slurm, as torchrun would give them
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1 and dev.type == "xla":
        return _init_xla_spawned(dev)
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
        dist.init_process_group(backend, timeout=dist_timeout(timeout))
    return Runtime(dev, rank, world, backend)


def _init_xla_spawned(dev):
    """Processes started by torch_xla's launcher (one per TPU chip): rank and world from PJRT.

    Their collectives use a gloo group that torch_xla's ``xla://`` rendezvous sets up, so that
    float64 metric states are summed exactly on the CPU (TPUs compute in 32 bits).
    """
    import torch_xla.runtime as xr

    world = xr.world_size()
    if world == 1:
        return Runtime(dev)
    import torch.distributed as dist
    import torch_xla.distributed.xla_backend  # noqa: F401  (registers the xla:// init method)

    if not dist.is_initialized():
        dist.init_process_group("gloo", init_method="xla://")
    return Runtime(dev, xr.global_ordinal(), world, "gloo")
