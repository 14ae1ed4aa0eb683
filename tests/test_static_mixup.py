"""StaticShapeMixup (robench/train/static_mixup.py), the CutMix that XLA training uses, is timm's Mixup
with the box pasted through a mask: same random draws, same pixels, same targets. Checked here on the
CPU against timm itself; tests/test_xla_train.py checks that on XLA it compiles a fixed set of graphs."""
import random

import numpy as np
import pytest
import torch
from timm.data import Mixup

from robench.train.static_mixup import StaticShapeMixup, box_mask


def _mixed(cls, seed, x, y, **kw):
    np.random.seed(seed)
    random.seed(seed)
    mixer = cls(num_classes=1000, label_smoothing=0.1, **kw)
    return mixer(x.clone(), y.clone())


@pytest.mark.parametrize("kw", [
    dict(mixup_alpha=0.0, cutmix_alpha=1.0),  # CutMix only: a box every step
    dict(mixup_alpha=0.8, cutmix_alpha=1.0, switch_prob=0.5),  # the DeiT recipe
    dict(mixup_alpha=0.0, cutmix_alpha=1.0, cutmix_minmax=(0.3, 0.8)),
    dict(mixup_alpha=0.8, cutmix_alpha=1.0, prob=0.5),  # half the batches left as they are (lambda 1)
    dict(mixup_alpha=0.0, cutmix_alpha=0.05),  # lambda near 0 or 1: boxes that are nearly everything or empty
])
def test_the_same_pixels_and_targets_as_timm(kw):
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(8, 3, 37, 29, generator=generator)  # odd, non-square sides: the box bounds matter
    y = torch.randint(0, 1000, (8,), generator=generator)
    changed = 0
    for seed in range(40):
        ours_x, ours_y = _mixed(StaticShapeMixup, seed, x, y, **kw)
        timm_x, timm_y = _mixed(Mixup, seed, x, y, **kw)
        assert torch.equal(ours_x, timm_x) and torch.equal(ours_y, timm_y), seed
        changed += not torch.equal(ours_x, x)
    assert changed >= 10  # it did mix


def test_the_box_mask_is_the_slice():
    x = torch.zeros(2, 3, 6, 5)
    mask = box_mask(x, 1, 4, 2, 5)
    expected = torch.zeros(6, 5, dtype=torch.bool)
    expected[1:4, 2:5] = True
    assert torch.equal(mask, expected)
    assert not box_mask(x, 3, 3, 0, 5).any()  # an empty box pastes nothing
