"""Training checkpoints: the whole state of a run, written atomically, read without pickled code.

``RUN_DIR/latest.pth`` is rewritten every N epochs and at the end, ``RUN_DIR/best.pth`` whenever
validation top-1 improves. Both hold model, optimiser, scheduler, grad scaler, EMA and RNG state
(tensors, numbers, strings, lists, dicts only), so ``torch.load(weights_only=True)`` reads them and
``robench eval --model RUN_DIR/best.pth`` finds ``arch``, ``model_kwargs`` and ``model`` in them.
A file is written to a temporary name beside its target and renamed over it: a run killed at any
moment leaves either the previous checkpoint or the new one, never a torn file.
"""
import os
import random

import numpy as np
import torch

from robench.errors import RobenchError, first_line
from robench.fileio import atomic_write

LATEST, BEST = "latest.pth", "best.pth"
FORMAT = "robench-train-checkpoint"


def atomic_save(obj, path):
    """torch.save through ``robench.fileio.atomic_write``: a kill never leaves half a checkpoint."""
    atomic_write(path, lambda f: torch.save(obj, f), binary=True, suffix=".pth")


def seed_everything(seed, epoch, rank, device=None):
    """Seeds torch, numpy and random from (seed, epoch, rank) at the start of every epoch, and on an
    XLA ``device`` its own generator too (``torch.manual_seed`` does not reach it).

    Why: a resumed epoch then draws exactly the random numbers (crops, mixup, drop path, worker
    seeds) that an uninterrupted run would have drawn, whatever happened before the restart.
    """
    value = int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1)[0])
    random.seed(value)
    np.random.seed(value)
    torch.manual_seed(value)
    if getattr(device, "type", None) == "xla":
        import torch_xla.core.xla_model as xm

        xm.set_rng_state(value, device=str(device))


def to_host(obj):
    """``obj`` with every tensor copied to the CPU (dicts, lists and tuples walked): checkpoints are
    saved from host copies, so an XLA or CUDA run writes the same CPU-loadable file as a CPU run."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        out = type(obj)((k, to_host(v)) for k, v in obj.items())
        if hasattr(obj, "_metadata"):  # a module state dict's versions (load_state_dict reads them)
            out._metadata = obj._metadata
        return out
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_host(v) for v in obj)
    return obj


def rng_state():
    """This process's RNG states as tensors and plain numbers (loadable with weights_only)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {"torch": torch.get_rng_state(), "numpy": [torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
             "python": list(random.getstate()[1])}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state):
    torch.set_rng_state(state["torch"])
    keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state(("MT19937", keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    random.setstate((3, tuple(state["python"]), None))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def make_checkpoint(*, arch, model_kwargs, model, optimizer, scheduler, scaler, ema, epochs_done,
                    recipe, best, rng_states, training, seed):
    """The dict a run saves (every tensor on the CPU); ``model`` is the bare module (no DDP / compile wrapper)."""
    return to_host({
        "format": FORMAT, "arch": arch, "model_kwargs": model_kwargs,
        "model": model.state_dict(),
        "state_dict_ema": ema.module.state_dict() if ema is not None else None,
        "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict(), "epoch": epochs_done, "recipe": recipe.to_json(), "seed": seed,
        "best": best, "rng": rng_states, "training": training,
    })


def read_checkpoint(path):
    """A robench training checkpoint from ``path``; anything else is a clear error."""
    if not os.path.isfile(path):
        raise RobenchError(f"--resume {path}: no such file")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch's message runs over many lines: its first one is enough
        first = first_line(e)
        raise RobenchError(f"cannot read checkpoint {path} ({type(e).__name__}: {first}); is it a file that "
                           "robench train wrote?") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise RobenchError(f"{path} is not a robench training checkpoint (written by `robench train`)")
    return ckpt


def restore(ckpt, *, model, optimizer, scheduler, scaler, ema, rank, world, arch=None, path="checkpoint"):
    """Loads every state of ``ckpt`` into the run's objects; returns the epochs already done."""
    if arch is not None and ckpt.get("arch") not in (None, arch):
        raise RobenchError(f"{path} holds a {ckpt['arch']} model, not {arch}; resume with --model {ckpt['arch']} "
                           "or start a new --out")
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as e:
        first = first_line(e)
        raise RobenchError(f"{path} does not fit the {arch or 'model'} being trained ({first})") from None
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    if ckpt["scaler"]:
        scaler.load_state_dict(ckpt["scaler"])
    if ema is not None:
        source = ckpt["state_dict_ema"] or ckpt["model"]  # EMA switched on mid-run: start from the weights
        ema.module.load_state_dict(source)
    states = ckpt.get("rng") or []
    if len(states) == world:
        set_rng_state(states[rank])
    return int(ckpt["epoch"])


def find_resume(run_dir, explicit=None):
    """The checkpoint to continue from: ``explicit``, else ``RUN_DIR/latest.pth`` if there is one."""
    if explicit:
        return os.fspath(explicit)
    latest = os.path.join(os.fspath(run_dir), LATEST)
    return latest if os.path.isfile(latest) else None


def weights_digest(module):
    """A short digest of every parameter and buffer (equal digests, equal weights), compared across ranks
    and written to the log: the first 16 hex digits of the model's ``state_dict_sha256``."""
    from robench.models.wrap import state_dict_sha256

    return state_dict_sha256(module)[:16]
