"""ImageNet-C's aggregates: the corruption-benchmark functions (``robench.metrics.corruption``) bound
to ImageNet-C's corruption set (``corruption_set()``), whose baseline is AlexNet's published errors
(``robench/data/alexnet_imagenet_c_errors.csv``, the values the ImageNet-C authors publish "to normalize").

``errors`` maps a corruption name to its five top-1 errors, severity 1..5, as fractions (0..1). The
4 extra corruptions (speckle_noise, gaussian_blur, spatter, saturate) never enter mCE or the mean
error. Every value returned is a percentage (x100).
"""
from functools import lru_cache

from robench.metrics import corruption as C
from robench.metrics.corruption import EXTRA_GROUP, CorruptionErrorsError  # noqa: F401  (public names)

SEVERITIES = (1, 2, 3, 4, 5)


@lru_cache(maxsize=None)
def corruption_set():
    """ImageNet-C's CorruptionSet: its 15 + 4 corruptions, 5 severities and AlexNet's errors (read once)."""
    return C.CorruptionSet.from_package("robench", "data/alexnet_imagenet_c_errors.csv", "ImageNet-C", "AlexNet")


def alexnet_errors():
    """corruption -> AlexNet's five top-1 errors (fractions), the 15 benchmark ones first."""
    return dict(corruption_set().baseline)


def alexnet_clean_error():
    """AlexNet's clean ImageNet top-1 error (fraction): 0.43478."""
    return corruption_set().baseline_clean_error


def corruption_group(corruption):
    """'noise' | 'blur' | 'weather' | 'digital' | 'extra'."""
    return corruption_set().groups[corruption]


def benchmark_corruptions():
    """The 15 corruptions of the benchmark (mCE), in the paper's order."""
    return corruption_set().benchmark


def extra_corruptions():
    """The 4 extra ("validation") corruptions, reported apart, never in mCE."""
    return corruption_set().extra


def ce(errors, corruptions=None):
    return C.ce(corruption_set(), errors, corruptions)


def relative_ce(errors, clean_error, corruptions=None):
    return C.relative_ce(corruption_set(), errors, clean_error, corruptions)


def mce(errors):
    """Mean corruption error over the 15 benchmark corruptions, percent (AlexNet = 100)."""
    return C.mce(corruption_set(), errors)


def relative_mce(errors, clean_error):
    """Relative mCE over the 15 benchmark corruptions, percent (AlexNet = 100)."""
    return C.relative_mce(corruption_set(), errors, clean_error)


def mean_error(errors):
    """Unnormalised mean top-1 error over the 15 x 5 benchmark cells, percent (0-100)."""
    return C.mean_error(corruption_set(), errors)


def corruption_error(errors, corruptions=None):
    return C.corruption_error(corruption_set(), errors, corruptions)


def group_mean_error(errors):
    return C.group_mean_error(corruption_set(), errors)


def aggregates(errors, clean_error=None):
    """The record's aggregates plus, with ``clean_error``, the joined relative values."""
    out = C.aggregates(corruption_set(), errors)
    out.update(C.joined(corruption_set(), errors, clean_error))
    out["definitions"] = C.definitions(corruption_set())
    return out
