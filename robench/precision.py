"""The numeric precision a model runs in: one ``autocast`` for evaluation and training alike.

``fp32`` is autocast switched off (so an outer autocast cannot leak in); ``bf16`` and ``fp16`` are
``torch.autocast`` with that dtype on the device's type. fp16 training also needs a grad scaler,
which the training loop adds; evaluation needs none.
"""
from robench.errors import RobenchError

PRECISIONS = ("fp32", "bf16", "fp16")


def autocast(device, precision):
    """The context manager that runs a forward pass on ``device`` (a torch.device or 'cuda') in ``precision``."""
    import torch

    device_type = getattr(device, "type", None) or str(device).split(":")[0]
    if precision == "fp32":
        return torch.autocast(device_type, enabled=False)
    dtypes = {"bf16": torch.bfloat16, "fp16": torch.float16}
    if precision not in dtypes:
        raise RobenchError(f"precision '{precision}' is not one of {', '.join(PRECISIONS)}")
    return torch.autocast(device_type, dtype=dtypes[precision])
