"""Metrics: additive per-variant state (``ClassificationMetrics``) and suite aggregates.

The ImageNet-C aggregates are pure functions of per-cell errors and need no torch::

    from robench.metrics import mce, relative_mce, mean_error
    mce({"gaussian_noise": [0.2, 0.3, 0.4, 0.5, 0.6], ...})  # percent, AlexNet = 100

``errors`` maps each corruption to its five top-1 errors (severity 1..5) as fractions (0..1); all 15
benchmark corruptions are required (extra corruptions are ignored). ``mean_error`` is percent too:
the plain mean over the 15 x 5 cells.
"""
from robench.metrics.cue_conflict import shape_bias
from robench.metrics.imagenet_c import ce, mce, mean_error, relative_ce, relative_mce

__all__ = ["ce", "mce", "mean_error", "relative_ce", "relative_mce", "shape_bias"]
