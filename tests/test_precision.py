"""One autocast for evaluation and training: fp32 switches autocast off, bf16/fp16 set its dtype."""
import pytest
import torch

from robench.errors import RobenchError
from robench.precision import PRECISIONS, autocast


def test_fp32_turns_autocast_off_even_inside_an_outer_one():
    with torch.autocast("cpu", dtype=torch.bfloat16):
        with autocast(torch.device("cpu"), "fp32"):
            assert not torch.is_autocast_enabled("cpu")
            out = torch.nn.Linear(4, 4)(torch.randn(2, 4))
    assert out.dtype == torch.float32


def test_bf16_runs_the_forward_in_bfloat16():
    with autocast(torch.device("cpu"), "bf16"):
        out = torch.nn.Linear(4, 4)(torch.randn(2, 4))
    assert out.dtype == torch.bfloat16
    with autocast("cpu", "bf16"):  # a device type as text works too
        assert torch.get_autocast_dtype("cpu") == torch.bfloat16


def test_unknown_precision_is_a_clear_error():
    assert PRECISIONS == ("fp32", "bf16", "fp16")
    with pytest.raises(RobenchError, match="precision 'fp8' is not one of fp32, bf16, fp16"):
        autocast(torch.device("cpu"), "fp8")
