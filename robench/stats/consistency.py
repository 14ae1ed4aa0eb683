"""Error consistency (Geirhos, Meding & Wichmann, NeurIPS 2020, "Beyond accuracy"): do two observers
make their mistakes on the same images?

    c_obs = share of images both got right or both got wrong
    c_exp = p1 * p2 + (1 - p1) * (1 - p2)   (the agreement two independent observers of these accuracies expect)
    kappa = (c_obs - c_exp) / (1 - c_exp)

kappa is 0 for independent errors, 1 for identical ones, negative for errors that avoid each other; it
is undefined (None) when c_exp is 1 (both observers always right, or always wrong)."""
from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass(frozen=True)
class ErrorConsistency:
    kappa: Optional[float]
    c_obs: float
    c_exp: float
    accuracy_a: float
    accuracy_b: float
    n: int


def error_consistency(correct_a, correct_b):
    """ErrorConsistency of two observers' per-image correctness (boolean arrays, same images, same order)."""
    from robench.stats.paired import _pair

    a, b = _pair(correct_a, correct_b)
    if not a.size:
        from robench.errors import RobenchError

        raise RobenchError("error consistency needs at least one image")
    p1, p2 = float(a.mean()), float(b.mean())
    c_obs = float(np.mean(a == b))
    c_exp = p1 * p2 + (1 - p1) * (1 - p2)
    kappa = None if c_exp >= 1.0 else (c_obs - c_exp) / (1 - c_exp)
    return ErrorConsistency(kappa, c_obs, c_exp, p1, p2, int(a.size))
