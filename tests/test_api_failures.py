"""The Python API fails as loudly as the CLI and leaves the caller's model as it found it.

``robench.evaluate`` used to return ``Results(paths=[])`` for a module returning (N, 1001) logits, a dict, or
holding float64/float16 weights, and a failing model in a list with a good one just disappeared; and it put a
model in train() mode into eval mode for good. Generated ImageNet val (real JPEGs) stands in for ImageNet.
"""
import warnings

import pytest
import torch
from torch import nn

import robench
from robench.api import ModelFailedError, RobenchWarning
from robench.datasets.imagenet import write_imagenet
from robench.models.oracle import ColourOracle


@pytest.fixture(scope="module")
def val(tmp_path_factory):
    root = tmp_path_factory.mktemp("api-val")
    write_imagenet(str(root), n_classes=3, per_class=2, size=32)
    return str(root)


class Wider(ColourOracle):
    def forward(self, x):
        return torch.cat([super().forward(x), torch.zeros(x.shape[0], 1)], dim=1)  # (N, 1001)


class Dict(ColourOracle):
    def forward(self, x):
        return {"logits": super().forward(x)}


class Weighted(ColourOracle):
    """The oracle plus a real layer whose weights may be float64/float16 (the input batch is float32)."""

    def __init__(self, dtype):
        super().__init__()
        self.scale = nn.Linear(1, 1).to(dtype)

    def forward(self, x):
        return super().forward(x) * self.scale(torch.ones(x.shape[0], 1, dtype=x.dtype)).abs().clamp(min=1)


@pytest.mark.parametrize("make, words", [
    (Wider, "1001"), (Dict, "dict"), (lambda: Weighted(torch.float64), "Double"),
    (lambda: Weighted(torch.float16), "Half"),
])
def test_a_failing_module_alone_raises_with_its_problem(val, tmp_path, make, words):
    with pytest.raises(ModelFailedError) as raised:
        robench.evaluate(make(), root=val, out=str(tmp_path), name="bad", workers=0, batch_size=4)
    message = str(raised.value)
    assert "model bad failed on imagenet/val, batch 1" in message and words in message


def test_a_failing_module_beside_a_good_one_warns_and_is_in_failures(val, tmp_path):
    from robench.models.wrap import as_loaded_model

    models = [as_loaded_model(ColourOracle(), name="good"), as_loaded_model(Wider(), name="wide")]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = robench.evaluate(models, root=val, out=str(tmp_path), workers=0, batch_size=4)
    assert [r["model"]["name"] for r in results.records] == ["good"]
    assert results.records[0]["variants"][0]["metrics"]["top1"] == 100.0
    assert list(results.failures) == ["wide"] and "1001" in results.failures["wide"]
    assert [str(w.message) for w in caught if issubclass(w.category, RobenchWarning)] == [
        f"model wide failed on {results.failures['wide']}; its records were not written"]


@pytest.mark.parametrize("training", [True, False])
def test_the_callers_module_keeps_its_mode(val, tmp_path, training):
    model = nn.Sequential(ColourOracle(), nn.Dropout(0.0))
    model.train(training)
    model[1].train(not training)  # a mixed state is restored as it was, submodule by submodule
    results = robench.evaluate(model, root=val, out=str(tmp_path), name="oracle", workers=0, batch_size=4)
    assert results.records[0]["variants"][0]["metrics"]["top1"] == 100.0 and results.failures == {}
    assert model.training is training and model[0].training is training and model[1].training is (not training)
