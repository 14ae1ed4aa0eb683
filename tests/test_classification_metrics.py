"""Additive metric state: hand-computed values, and merge == one pass over everything."""
import math

import pytest
import torch

from robench.metrics.classification import ClassificationMetrics


def test_hand_computed_values():
    logits = torch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 0.0], [1.0, 0.0, 5.0], [0.0, 0.0, 0.0]])
    target = torch.tensor([0, 2, 2, 1])
    m = ClassificationMetrics()
    m.update(logits, target)
    out = m.compute()
    assert out["top1"] == pytest.approx(50.0)  # rows 0 and 2 right (row 3 ties -> class 0)
    assert out["top5"] == pytest.approx(100.0)  # only 3 classes: everything is in the top 3
    lp = logits.log_softmax(1)
    nll = -(lp[0, 0] + lp[1, 2] + lp[2, 2] + lp[3, 1]).item() / 4
    assert out["nll"] == pytest.approx(nll)
    conf = lp.exp().max(1).values
    correct = torch.tensor([1.0, 0.0, 1.0, 0.0])
    bins = (conf * 15).long().clamp(max=14)
    ece = sum(abs((conf[bins == b] - correct[bins == b]).sum().item()) for b in range(15)) / 4
    assert out["ece"] == pytest.approx(100 * ece)


def test_merge_equals_single_pass_and_survives_json():
    torch.manual_seed(0)
    logits, target = torch.randn(37, 10), torch.randint(0, 10, (37,))
    whole = ClassificationMetrics()
    whole.update(logits, target)
    a, b = ClassificationMetrics(), ClassificationMetrics()
    a.update(logits[:20], target[:20])
    b.update(logits[20:], target[20:])
    merged = ClassificationMetrics(a.state_dict()).merge(ClassificationMetrics(b.state_dict()))
    assert merged.count == 37
    for key, value in whole.compute().items():
        assert merged.compute()[key] == pytest.approx(value, abs=1e-9)
    flat = merged.flat()
    assert torch.equal(ClassificationMetrics().load_flat(flat).flat(), flat)


def test_empty_state_gives_none_not_zero():
    assert ClassificationMetrics().compute()["top1"] is None
    assert not math.isnan(ClassificationMetrics().flat().sum().item())
