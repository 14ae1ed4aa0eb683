"""A seeded paired bootstrap over image ids.

Every variant of a suite that holds the same images (ImageNet-C's 75 cells are the same 50,000 val
images) is resampled with ONE draw of image ids, so a statistic over many cells keeps the pairing; two
models on the same images are resampled together for the same reason. A draw is represented by its
multiplicities (how often each image was drawn: a row of ``resample_weights``), so the resampled count
of correct images of every cell of every draw is one matrix product: (draws x images) @ (images x cells).

Reproducible: ``numpy.random.default_rng(seed)`` draws ``integers(0, n, size=n)`` per draw, in order;
``bootstrap_counts`` is equal (to the last bit, on integer counts) to a plain loop doing the same.
"""
import numpy as np

DEFAULT_DRAWS = 1000
DEFAULT_SEED = 0
_CHUNK = 100  # draws per matrix product: 100 x 50,000 float64 weights is 40 MB


def resample_weights(n, draws=DEFAULT_DRAWS, seed=DEFAULT_SEED, start=0, stop=None):
    """(draws x n) float64 multiplicities of the bootstrap draws ``start:stop`` of ``seed``; draw d uses
    the d-th ``rng.integers(0, n, size=n)`` of ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    stop = draws if stop is None else stop
    out = np.empty((stop - start, n), dtype=np.float64)
    for d in range(stop):
        ids = rng.integers(0, n, size=n)
        if d >= start:
            out[d - start] = np.bincount(ids, minlength=n)
    return out


def bootstrap_counts(correct, draws=DEFAULT_DRAWS, seed=DEFAULT_SEED):
    """(draws x cells) resampled counts: ``correct`` is (images x cells) of 0/1 (or any per-image
    numbers to sum), one row per image id shared by every cell."""
    correct = np.asarray(correct, dtype=np.float64)
    if correct.ndim == 1:
        correct = correct[:, None]
    n = correct.shape[0]
    if n == 0:
        from robench.errors import RobenchError

        raise RobenchError("a bootstrap needs at least one image")
    rng = np.random.default_rng(seed)
    out = np.empty((draws, correct.shape[1]), dtype=np.float64)
    for start in range(0, draws, _CHUNK):
        stop = min(draws, start + _CHUNK)
        ids = rng.integers(0, n, size=(stop - start, n))  # the same stream as one integers(0, n, n) per draw
        offsets = (ids + (np.arange(stop - start) * n)[:, None]).reshape(-1)
        weights = np.bincount(offsets, minlength=(stop - start) * n).reshape(stop - start, n).astype(np.float64)
        out[start:stop] = weights @ correct
    return out


def percentile_interval(samples, level=0.95):
    """(low, high) of the percentile bootstrap interval of ``samples`` (NaN draws are ignored; None when
    no draw is finite)."""
    values = np.asarray(samples, dtype=np.float64)
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    alpha = (1.0 - level) / 2
    low, high = np.quantile(values, [alpha, 1.0 - alpha])
    return float(low), float(high)
