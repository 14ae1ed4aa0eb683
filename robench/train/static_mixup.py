"""Mixup/CutMix as one XLA graph for every step, for training on XLA (TPUs).

timm's ``Mixup`` changes the step's graph in three ways, and on XLA every new graph is a compile
(minutes on a TPU, against milliseconds for the step):

- CutMix pastes its box with a slice, ``x[:, :, yl:yh, xl:xh] = ...``, and slice bounds are graph
  constants: a new box every step is a new graph every step;
- mixup and CutMix are two different graphs, and a batch left unmixed (lambda 1) a third;
- torch_xla bakes the Python scalars 0 and 1 into the graph as constants (other scalars are data),
  so a lambda of exactly 1 or 0 (an empty CutMix box, a draw of 1) gives yet another graph.

Here every batch goes through the same arithmetic, with everything that varies held in small
device tensors (data of the graph): ``where(box, flipped, x * a + flipped * b)``, with (a, b) =
(lambda, 1 - lambda) for mixup and (1, 0) for CutMix or no mixing, and an empty box unless CutMix;
targets are ``y * lambda + flipped_y * (1 - lambda)``. For finite images these are exactly timm's
pixels and targets (x * 1 + 0 = x), the random numbers are drawn in timm's order (numpy, on the host),
so a run's numbers do not depend on which of the two it used (tests/test_static_mixup.py).

Only ``mode="batch"`` (one lambda and one box per batch, the DeiT recipe's) without multi-label
targets is rewritten; other modes mix sample by sample and are left to timm.
"""
import torch
from timm.data import Mixup
from timm.data.mixup import cutmix_bbox_and_lam


class StaticShapeMixup(Mixup):
    def __call__(self, x, target):
        if self.mode != "batch" or self.multi_label:
            return super().__call__(x, target)
        if len(x) % 2:
            raise ValueError(f"mixup/cutmix need an even batch, not {len(x)}")
        lam, use_cutmix = self._params_per_batch()
        box, weights = (0, 0, 0, 0), (lam, 1.0 - lam)  # no box: mixup (or nothing when lam is 1)
        if use_cutmix and lam != 1.0:  # timm draws the box only then: the same random numbers
            box, lam = cutmix_bbox_and_lam(x.shape, lam, ratio_minmax=self.cutmix_minmax,
                                           correct_lam=self.correct_lam)
            weights = (1.0, 0.0)
        flipped = x.flip(0)
        a, b = _data(weights, x)
        mixed = torch.where(box_mask(x, *box), flipped, x * a + flipped * b)
        return mixed, self._targets(target, lam, x)

    def _targets(self, target, lam, x):
        """timm's smoothed one-hot targets mixed with their flip, with lambda as graph data."""
        off = self.label_smoothing / self.num_classes
        on = 1.0 - self.label_smoothing + off
        one_hot = torch.full((target.shape[0], self.num_classes), off, device=target.device)
        one_hot.scatter_(1, target.long().view(-1, 1), on)
        a, b = _data((lam, 1.0 - lam), one_hot)
        return one_hot * a + one_hot.flip(0) * b


def _data(values, like):
    """Python floats as 0-d tensors on ``like``'s device and dtype: data of an XLA graph, not constants."""
    pair = torch.tensor(values, dtype=like.dtype, device=like.device)
    return pair[0], pair[1]


def box_mask(x, top, bottom, left, right):
    """(H, W) booleans, True inside rows [top, bottom) and columns [left, right) of ``x``'s images; the
    bounds are one small device tensor (data of the graph, not constants)."""
    bounds = torch.tensor([top, bottom, left, right], device=x.device)
    rows = torch.arange(x.shape[-2], device=x.device).view(-1, 1)
    cols = torch.arange(x.shape[-1], device=x.device).view(1, -1)
    return (rows >= bounds[0]) & (rows < bounds[1]) & (cols >= bounds[2]) & (cols < bounds[3])
