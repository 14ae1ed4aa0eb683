"""Exact binomial intervals for one proportion (top-1, top-5, error of one variant).

The default is Clopper-Pearson: it inverts two one-sided binomial tests, so its coverage is never below
the nominal level for any n and accuracy (it errs on the wide side), it is what imagenet-testbed draws on
its plots, and it needs only the counts every record already stores, so records from before intervals
existed get them too. Wilson's score interval is offered as the narrower alternative whose coverage is
close to nominal on average (it can dip below it for some accuracies); at robench's sizes (thousands of
images) the two differ in the second decimal of a percent.
"""
import math

DEFAULT_METHOD = "clopper-pearson"
DEFAULT_LEVEL = 0.95
METHODS = ("clopper-pearson", "wilson")


def clopper_pearson(k, n, level=DEFAULT_LEVEL):
    """(low, high) of the exact Clopper-Pearson interval for k successes in n trials, as fractions:
    the level/2 quantiles of Beta(k, n - k + 1) and Beta(k + 1, n - k), with 0 and 1 at the ends."""
    from scipy.stats import beta

    k, n = _check(k, n, level)
    alpha = 1.0 - level
    low = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


def wilson(k, n, level=DEFAULT_LEVEL):
    """(low, high) of Wilson's score interval for k successes in n trials, as fractions."""
    from scipy.stats import norm

    k, n = _check(k, n, level)
    z = float(norm.ppf(1 - (1 - level) / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion_interval(k, n, level=DEFAULT_LEVEL, method=DEFAULT_METHOD):
    """(low, high) as fractions by ``method`` ("clopper-pearson" or "wilson")."""
    if method == "clopper-pearson":
        return clopper_pearson(k, n, level)
    if method == "wilson":
        return wilson(k, n, level)
    from robench.errors import RobenchError

    raise RobenchError(f"unknown interval method '{method}': use one of {', '.join(METHODS)}")


def _check(k, n, level):
    from robench.errors import RobenchError

    if not 0 < level < 1:
        raise RobenchError(f"interval level must be between 0 and 1, not {level!r}")
    if n != int(n) or k != int(k) or not 0 <= k <= n or n < 1:
        raise RobenchError(f"a binomial interval needs whole counts 0 <= k <= n with n >= 1 (got k={k}, n={n})")
    return int(k), int(n)


def clopper_pearson_many(k, n, level=DEFAULT_LEVEL):
    """``clopper_pearson`` of arrays of counts (one scipy call per bound, for the leaderboard's 1,500
    published rows): (low array, high array) as fractions."""
    import numpy as np
    from scipy.stats import beta

    k, n = np.asarray(k, dtype=np.float64), np.broadcast_to(np.asarray(n, dtype=np.float64), np.shape(k))
    if np.any((k < 0) | (k > n) | (n < 1)) or np.any(k != np.round(k)):
        from robench.errors import RobenchError

        raise RobenchError("a binomial interval needs whole counts 0 <= k <= n with n >= 1")
    alpha = 1.0 - level
    with np.errstate(invalid="ignore"):
        low = np.where(k == 0, 0.0, beta.ppf(alpha / 2, np.maximum(k, 1), n - k + 1))
        high = np.where(k == n, 1.0, beta.ppf(1 - alpha / 2, k + 1, np.maximum(n - k, 1)))
    return low, high
