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
    ``samples`` bootstrap resamples of the baseline set (numpy Generator seeded with ``seed``)."""
    baseline_clean, baseline_ood = np.asarray(baseline_clean, float), np.asarray(baseline_ood, float)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(samples):
        pick = rng.integers(0, len(baseline_clean), len(baseline_clean))
        if np.ptp(baseline_clean[pick]) == 0:  # all one model: no line
            continue
        values.append(effective_robustness(fit_trend(baseline_clean[pick], baseline_ood[pick]), clean, ood))
    tail = (1 - level) / 2 * 100
    return tuple(np.percentile(np.array(values), [tail, 100 - tail], axis=0))


def _fractions(values, what):
    values = np.asarray(values, dtype=float)
    if not np.all((values > 0) & (values < 1)):
        raise RobenchError(f"effective robustness needs {what} accuracies strictly between 0 and 1 "
                           "(fractions; a logit of 0 or 1 is infinite)")
    return values
