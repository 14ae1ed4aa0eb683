"""Mixup/CutMix whose graph does not change from step to step, for training on XLA (TPUs).

timm's ``Mixup`` pastes the CutMix box with a slice, ``x[:, :, yl:yh, xl:xh] = ...``; the box is
drawn anew every step and slice bounds are constants of an XLA graph, so every step with a new box
compiles a new graph (minutes per step on a TPU instead of milliseconds). Here the box enters the
graph as data: a mask built by comparing row and column indices with the box's bounds, held in a
device tensor, and ``torch.where`` takes the flipped batch inside it. The pixels are the same as
timm's, the random numbers are drawn the same way (numpy, on the host), and the mixed targets are
timm's, so a run's numbers do not depend on which of the two it used.

Only ``mode="batch"`` (one lambda and one box per batch, the DeiT recipe's) is rewritten;
``pair``/``elem`` modes mix sample by sample on the host side and are left to timm.
"""
import torch
from timm.data import Mixup
from timm.data.mixup import cutmix_bbox_and_lam


class StaticShapeMixup(Mixup):
    def _mix_batch(self, x):
        lam, use_cutmix = self._params_per_batch()
        if lam == 1.0:
            return 1.0
        if use_cutmix:
            (top, bottom, left, right), lam = cutmix_bbox_and_lam(
                x.shape, lam, ratio_minmax=self.cutmix_minmax, correct_lam=self.correct_lam)
            x.copy_(torch.where(box_mask(x, top, bottom, left, right), x.flip(0), x))
        else:
            flipped = x.flip(0).mul_(1.0 - lam)
            x.mul_(lam).add_(flipped)
        return lam


def box_mask(x, top, bottom, left, right):
    """(H, W) booleans, True inside rows [top, bottom) and columns [left, right) of ``x``'s images; the
    bounds are one small device tensor (data of the graph, not constants)."""
    bounds = torch.tensor([top, bottom, left, right], device=x.device)
    rows = torch.arange(x.shape[-2], device=x.device).view(-1, 1)
    cols = torch.arange(x.shape[-1], device=x.device).view(1, -1)
    return (rows >= bounds[0]) & (rows < bounds[1]) & (cols >= bounds[2]) & (cols < bounds[3])
