"""ImageNet-C aggregates (Hendrycks & Dietterich, ICLR 2019): pure functions of per-cell errors.

``errors`` maps a corruption name to its five top-1 errors, severity 1..5, as fractions (0..1).
The AlexNet normalisers are package data (``robench/data/alexnet_imagenet_c_errors.csv``, the
values the ImageNet-C authors publish "to normalize"); nothing here needs torch.

- CE_c = sum_s E_{s,c} / sum_s E^AlexNet_{s,c}; mCE = mean of CE_c over the 15 benchmark corruptions.
- relative CE_c = sum_s (E_{s,c} - E_clean) / sum_s (E^AlexNet_{s,c} - E^AlexNet_clean); relative mCE
  = their mean. It measures how much a model degrades, not how wrong it is.
- mean error = the plain mean of E over the 15 x 5 benchmark cells (what the RobustCNN paper
  reports as "ImageNet-C"); no AlexNet in it.
The 4 extra corruptions (speckle_noise, gaussian_blur, spatter, saturate) never enter mCE or the
mean error; they are reported apart. Every value returned here is a percentage (x100).
"""
import csv
import io
import re
from functools import lru_cache
from importlib import resources

from robench.errors import RobenchError

SEVERITIES = (1, 2, 3, 4, 5)
GROUPS = ("noise", "blur", "weather", "digital")
EXTRA_GROUP = "extra"


class CorruptionErrorsError(RobenchError, ValueError):
    """The per-corruption errors given to an ImageNet-C metric are missing or malformed."""


@lru_cache(maxsize=None)
def _table():
    text = resources.files("robench").joinpath("data", "alexnet_imagenet_c_errors.csv").read_text()
    clean = re.search(r"AlexNet clean top-1 error:\s*([0-9.]+)", text)
    if clean is None:
        raise RuntimeError("alexnet_imagenet_c_errors.csv lost its 'AlexNet clean top-1 error' line")
    rows = list(csv.DictReader(io.StringIO("\n".join(l for l in text.splitlines() if not l.startswith("#")))))
    alexnet = {r["corruption"]: tuple(float(r[f"s{s}"]) for s in SEVERITIES) for r in rows}
    groups = {r["corruption"]: r["group"] for r in rows}
    return alexnet, groups, float(clean.group(1))


def alexnet_errors():
    """corruption -> AlexNet's five top-1 errors (fractions), the 15 benchmark ones first."""
    return dict(_table()[0])


def alexnet_clean_error():
    """AlexNet's clean ImageNet top-1 error (fraction): 0.43478."""
    return _table()[2]


def corruption_group(corruption):
    """'noise' | 'blur' | 'weather' | 'digital' | 'extra'."""
    return _table()[1][corruption]


def benchmark_corruptions():
    """The 15 corruptions of the benchmark (mCE), in the paper's order."""
    return tuple(c for c, g in _table()[1].items() if g != EXTRA_GROUP)


def extra_corruptions():
    """The 4 extra ("validation") corruptions, reported apart, never in mCE."""
    return tuple(c for c, g in _table()[1].items() if g == EXTRA_GROUP)


def _checked(errors, corruptions):
    """The five errors of each of ``corruptions``, validated; a clear error names what is wrong."""
    missing = [c for c in corruptions if c not in errors]
    if missing:
        raise CorruptionErrorsError(
            f"ImageNet-C errors are missing for {', '.join(missing)}: mCE and the mean error need all "
            f"15 benchmark corruptions ({', '.join(benchmark_corruptions())}) at severities 1-5")
    out = {}
    for c in corruptions:
        values = tuple(float(e) for e in errors[c])
        if len(values) != len(SEVERITIES):
            raise CorruptionErrorsError(f"{c}: expected 5 errors (severity 1..5), got {len(values)}")
        if not all(0.0 <= e <= 1.0 for e in values):
            raise CorruptionErrorsError(f"{c}: errors must be fractions in [0, 1] (got {values})")
        out[c] = values
    return out


def ce(errors, corruptions=None):
    """Corruption error CE_c (percent, AlexNet = 100) for each of ``corruptions`` (default: all given
    that have AlexNet values)."""
    alexnet = alexnet_errors()
    corruptions = corruptions or [c for c in errors if c in alexnet]
    checked = _checked(errors, corruptions)
    return {c: 100.0 * sum(checked[c]) / sum(alexnet[c]) for c in corruptions}


def relative_ce(errors, clean_error, corruptions=None):
    """Relative corruption error (percent, AlexNet = 100); ``clean_error`` is the model's clean
    ImageNet top-1 error as a fraction."""
    alexnet, alexnet_clean = alexnet_errors(), alexnet_clean_error()
    corruptions = corruptions or [c for c in errors if c in alexnet]
    checked = _checked(errors, corruptions)
    clean = _fraction(clean_error, "clean_error")
    return {c: 100.0 * sum(e - clean for e in checked[c]) / sum(a - alexnet_clean for a in alexnet[c])
            for c in corruptions}


def mce(errors):
    """Mean corruption error over the 15 benchmark corruptions, percent (AlexNet = 100)."""
    values = ce(errors, benchmark_corruptions())
    return sum(values.values()) / len(values)


def relative_mce(errors, clean_error):
    """Relative mCE over the 15 benchmark corruptions, percent (AlexNet = 100)."""
    values = relative_ce(errors, clean_error, benchmark_corruptions())
    return sum(values.values()) / len(values)


def mean_error(errors):
    """Unnormalised mean top-1 error over the 15 x 5 benchmark cells, percent (0-100)."""
    checked = _checked(errors, benchmark_corruptions())
    cells = [e for values in checked.values() for e in values]
    return 100.0 * sum(cells) / len(cells)


def corruption_error(errors, corruptions=None):
    """Mean top-1 error over the five severities of each corruption, percent."""
    corruptions = corruptions or list(errors)
    checked = _checked(errors, corruptions)
    return {c: 100.0 * sum(v) / len(v) for c, v in checked.items()}


def group_mean_error(errors):
    """Mean top-1 error over the cells of each group (noise, blur, weather, digital) whose
    corruptions are all given, percent."""
    out = {}
    for group in GROUPS:
        members = [c for c in benchmark_corruptions() if corruption_group(c) == group]
        if all(c in errors for c in members):
            per = corruption_error(errors, members)
            out[group] = sum(per.values()) / len(per)
    return out


def _fraction(value, name):
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise CorruptionErrorsError(f"{name} must be a fraction in [0, 1] (got {value})")
    return value


DEFINITIONS = {
    "mean_error": "mean top-1 error (%) over the 15 benchmark corruptions x 5 severities, not normalised "
                  "(the RobustCNN paper's 'ImageNet-C' number); null unless all 75 cells were evaluated",
    "mce": "mean over the 15 benchmark corruptions of CE_c = sum_s E_s,c / sum_s E^AlexNet_s,c, x100 "
           "(AlexNet = 100; lower is better); null unless all 75 cells were evaluated",
    "relative_mce": "mean over the 15 benchmark corruptions of sum_s (E_s,c - E_clean) / "
                    "sum_s (E^AlexNet_s,c - 0.43478), x100; null without this model's clean ImageNet record",
    "ce": "per benchmark corruption: CE_c = sum_s E_s,c / sum_s E^AlexNet_s,c, x100",
    "relative_ce": "per benchmark corruption: sum_s (E_s,c - E_clean) / sum_s (E^AlexNet_s,c - 0.43478), x100",
    "group_mean_error": "mean top-1 error (%) over the cells of each group (noise, blur, weather, digital) "
                        "whose corruptions were all evaluated",
    "corruption_error": "per benchmark corruption: mean top-1 error (%) over severities 1-5",
    "extra_mean_error": "mean top-1 error (%) over the 4 extra corruptions x 5 severities (speckle_noise, "
                        "gaussian_blur, spatter, saturate), never part of mCE; null unless all 20 were evaluated",
    "extra_corruption_error": "per extra corruption: mean top-1 error (%) over severities 1-5",
    "clean_error": "this model's clean ImageNet-1k val top-1 error (%), from its 'imagenet' record in the "
                   "same output directory; null when there is none",
    "protocol": "'released': the ImageNet-C JPEGs as published; 'generated': corrupted with the "
                "imagecorruptions package (not comparable with 'released')",
}


def aggregates(errors, clean_error=None, protocol="released"):
    """Every ImageNet-C aggregate of a record from the complete corruptions in ``errors``
    (corruption -> five fractions); numbers that need cells not given are null."""
    bench, extra = benchmark_corruptions(), extra_corruptions()
    have_bench = [c for c in bench if c in errors]
    have_extra = [c for c in extra if c in errors]
    complete = len(have_bench) == len(bench)
    out = {
        "mean_error": mean_error(errors) if complete else None,
        "mce": mce(errors) if complete else None,
        "relative_mce": relative_mce(errors, clean_error) if complete and clean_error is not None else None,
        "ce": ce(errors, have_bench) if have_bench else {},
        "relative_ce": (relative_ce(errors, clean_error, have_bench) if have_bench else {})
        if clean_error is not None else None,
        "group_mean_error": group_mean_error(errors),
        "corruption_error": corruption_error(errors, have_bench) if have_bench else {},
        "extra_mean_error": None,
        "extra_corruption_error": corruption_error(errors, have_extra) if have_extra else {},
        "clean_error": None if clean_error is None else 100.0 * clean_error,
        "protocol": protocol,
        "definitions": dict(DEFINITIONS),
    }
    if len(have_extra) == len(extra):
        values = out["extra_corruption_error"].values()
        out["extra_mean_error"] = sum(values) / len(values)
    return out
