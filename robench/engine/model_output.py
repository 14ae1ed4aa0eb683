"""Checking what a model returned, so that one bad model is named in one line and never costs the
other models of a run their work.

A forward pass that raises, or returns something other than one finite row of 1000 logits per image,
becomes a ``ModelFailure`` with the reason; the engine then leaves that model out of the rest of the
run (its slice results and records are not written) and finishes the others. With ``--nonfinite wrong``
NaN and infinite logits are let through (the shape is still checked): the scorer counts such an
image as a wrong prediction (``robench.engine.scoring``).
"""
from dataclasses import dataclass

N_CLASSES = 1000


@dataclass(frozen=True)
class ModelFailure:
    reason: str


def checked_logits(output, n_images, allow_nonfinite=False):
    """``output`` if it is an (n_images, 1000) tensor of finite numbers (any numbers with
    ``allow_nonfinite``), else a ModelFailure saying why."""
    import torch

    if not isinstance(output, torch.Tensor):
        kind = type(output).__name__
        hint = " (a tuple or dict: wrap the model so that forward returns the logits alone)" \
            if isinstance(output, (tuple, list, dict)) else ""
        return ModelFailure(f"forward returned a {kind}, not a tensor of logits{hint}")
    if output.dim() != 2 or output.shape[0] != n_images:
        return ModelFailure(f"forward returned logits of shape {tuple(output.shape)} for a batch of {n_images} "
                            f"images (expected ({n_images}, {N_CLASSES}))")
    if output.shape[1] != N_CLASSES:
        return ModelFailure(f"forward returned {output.shape[1]} classes; robench suites score the {N_CLASSES} "
                            "ImageNet-1k classes (labels are 1k indices in sorted-wnid order)")
    bad = 0 if allow_nonfinite else (~torch.isfinite(output.detach())).sum().item()
    if bad:
        return ModelFailure(f"non-finite logits: {bad} of {output.numel()} values are NaN or infinite "
                            "(--nonfinite wrong counts such images as wrong predictions)")
    return output


def failed_call(error):
    """The ModelFailure of a forward pass that raised ``error`` (its own message, one line)."""
    message = " ".join(str(error).split()) or "no message"
    return ModelFailure(f"forward raised {type(error).__name__}: {message[:300]}")
