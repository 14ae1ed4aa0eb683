"""Effective robustness (Taori et al., "Measuring Robustness to Natural Distribution Shifts in Image
Classification", NeurIPS 2020).

Out-of-distribution accuracy rises with clean accuracy, and on logit axes the rise is close to linear
for standard models: logit(OOD) = a * logit(ID) + b. A model's effective robustness is how far its OOD
accuracy sits above what that trend predicts from its clean accuracy: ER = OOD - sigmoid(a * logit(ID) + b).
The trend is fitted over a declared baseline set (e.g. supervised ImageNet-1k models at the benchmark
protocol); the band comes from refitting on bootstrap resamples of that set with a fixed seed, so the same
inputs give the same band.
"""
from dataclasses import dataclass

import numpy as np

from robench.errors import RobenchError

BOOTSTRAP_SEED = 0
BOOTSTRAP_SAMPLES = 1000


def logit(p):
    p = np.asarray(p, dtype=float)
    return np.log(p / (1 - p))


def inverse_logit(x):
    return 1 / (1 + np.exp(-np.asarray(x, dtype=float)))


@dataclass(frozen=True)
class Trend:
    """logit(OOD) = slope * logit(ID) + intercept, accuracies as fractions in (0, 1)."""

    slope: float
    intercept: float
    n: int  # baseline models it was fitted on

    def predict(self, clean):
        return inverse_logit(self.slope * logit(clean) + self.intercept)


def fit_trend(clean, ood):
    """Least-squares line through (logit(clean), logit(ood)) of the baseline models (fractions)."""
    clean, ood = _fractions(clean, "clean"), _fractions(ood, "OOD")
    if len(clean) != len(ood) or len(clean) < 2:
        raise RobenchError(f"effective robustness needs at least 2 baseline models with both accuracies, got {len(clean)}")
    x, y = logit(clean), logit(ood)
    xm, ym = x.mean(), y.mean()
    slope = float(((x - xm) * (y - ym)).sum() / ((x - xm) ** 2).sum())
    return Trend(slope, float(ym - slope * xm), len(clean))


def effective_robustness(trend, clean, ood):
    """OOD accuracy minus the trend's prediction from clean accuracy (fractions; positive: above the line)."""
    return np.asarray(ood, dtype=float) - trend.predict(_fractions(clean, "clean"))


def bootstrap_band(baseline_clean, baseline_ood, clean, ood, samples=BOOTSTRAP_SAMPLES, seed=BOOTSTRAP_SEED,
                   level=0.95):
    """(low, high) arrays: the central ``level`` interval of each model's ER over trends refitted on
    ``samples`` bootstrap resamples of the baseline set (numpy Generator seeded with ``seed``). All
    resamples are fitted at once (least squares in closed form over a (samples, n) index array), so
    1,000 resamples of 600 baseline models for 800 models take a fraction of a second."""
    x_all = logit(_fractions(baseline_clean, "clean"))
    y_all = logit(_fractions(baseline_ood, "OOD"))
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(x_all), (samples, len(x_all)))
    x, y = x_all[pick], y_all[pick]
    xm, ym = x.mean(axis=1, keepdims=True), y.mean(axis=1, keepdims=True)
    spread = ((x - xm) ** 2).sum(axis=1)
    keep = spread > 0  # a resample of one model only has no line
    slope = ((x - xm) * (y - ym)).sum(axis=1)[keep] / spread[keep]
    intercept = ym[keep, 0] - slope * xm[keep, 0]
    predicted = inverse_logit(slope[:, None] * logit(_fractions(clean, "clean"))[None, :] + intercept[:, None])
    values = np.asarray(ood, dtype=float)[None, :] - predicted
    tail = (1 - level) / 2 * 100
    return tuple(np.percentile(values, [tail, 100 - tail], axis=0))


def _fractions(values, what):
    values = np.asarray(values, dtype=float)
    if not np.all((values > 0) & (values < 1)):
        raise RobenchError(f"effective robustness needs {what} accuracies strictly between 0 and 1 "
                           "(fractions; a logit of 0 or 1 is infinite)")
    return values
