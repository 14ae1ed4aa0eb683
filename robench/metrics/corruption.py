"""Corruption-benchmark aggregates (Hendrycks & Dietterich, ICLR 2019), for any set of corruptions.

A ``CorruptionSet`` is the whole parameterisation of a corruption benchmark: its corruptions in
order, their groups, the severities, which corruptions are "extra" (reported apart, never in mCE), and
the baseline model's per-cell errors and clean error used to normalise. ImageNet-C is this module
with AlexNet's published errors; ImageNet-C-bar or 3DCC would be another CSV in the same format.

``errors`` maps a corruption name to its top-1 errors per severity (in severity order) as fractions:
- CE_c = sum_s E_{s,c} / sum_s E^base_{s,c}; mCE = mean of CE_c over the benchmark corruptions.
- relative CE_c = sum_s (E_{s,c} - E_clean) / sum_s (E^base_{s,c} - E^base_clean); relative mCE = their
  mean. It measures how much a model degrades, not how wrong it is.
- mean error = the plain mean of E over the benchmark cells (no baseline in it).
Every value returned is a percentage (x100). Nothing here needs torch.
"""
import csv
import io
import re
from dataclasses import dataclass
from importlib import resources

from robench.errors import RobenchError

EXTRA_GROUP = "extra"


class CorruptionErrorsError(RobenchError, ValueError):
    """The per-corruption errors given to a corruption metric are missing or malformed."""


@dataclass(frozen=True)
class CorruptionSet:
    """The corruptions of one benchmark (in order, grouped, at its severities) and the baseline errors
    that normalise them; made from a CSV by ``from_package`` or ``from_csv_text``."""

    name: str  # e.g. "ImageNet-C"
    baseline_name: str  # e.g. "AlexNet"
    baseline: dict  # corruption -> baseline errors per severity (fractions), benchmark corruptions first
    groups: dict  # corruption -> group ('extra' for the extra corruptions)
    baseline_clean_error: float
    severities: tuple = (1, 2, 3, 4, 5)

    @classmethod
    def from_csv_text(cls, text, name, baseline_name):
        """Rows ``corruption,group,s1..sN[,...]``; '#' lines are comments, one of which says
        '<baseline> clean top-1 error: 0.xxx'."""
        clean = re.search(r"clean top-1 error:\s*([0-9.]+)", text)
        if clean is None:
            raise RobenchError(f"the {name} errors have no '# {baseline_name} clean top-1 error: 0.xxx' line")
        rows = list(csv.DictReader(io.StringIO("\n".join(l for l in text.splitlines() if not l.startswith("#")))))
        severities = tuple(int(k[1:]) for k in rows[0] if re.fullmatch(r"s\d+", k or ""))
        return cls(name, baseline_name,
                   {r["corruption"]: tuple(float(r[f"s{s}"]) for s in severities) for r in rows},
                   {r["corruption"]: r["group"] for r in rows}, float(clean.group(1)), severities)

    @classmethod
    def from_package(cls, package, filename, name, baseline_name):
        text = resources.files(package).joinpath(filename).read_text()
        return cls.from_csv_text(text, name, baseline_name)

    @property
    def benchmark(self):
        """The corruptions of the benchmark (mCE), in the set's order."""
        return tuple(c for c, g in self.groups.items() if g != EXTRA_GROUP)

    @property
    def extra(self):
        return tuple(c for c, g in self.groups.items() if g == EXTRA_GROUP)

    @property
    def group_names(self):
        """The benchmark's groups in the set's order (e.g. noise, blur, weather, digital)."""
        return tuple(dict.fromkeys(g for g in self.groups.values() if g != EXTRA_GROUP))

    @property
    def all(self):
        return self.benchmark + self.extra

    def checked(self, errors, corruptions):
        """The errors of each of ``corruptions``, validated; a clear error names what is wrong."""
        missing = [c for c in corruptions if c not in errors]
        if missing:
            raise CorruptionErrorsError(
                f"{self.name} errors are missing for {', '.join(missing)}: mCE and the mean error need all "
                f"{len(self.benchmark)} benchmark corruptions ({', '.join(self.benchmark)}) at severities "
                f"{self.severities[0]}-{self.severities[-1]}")
        out = {}
        for c in corruptions:
            values = tuple(float(e) for e in errors[c])
            if len(values) != len(self.severities):
                raise CorruptionErrorsError(f"{c}: expected {len(self.severities)} errors (severity "
                                            f"{self.severities[0]}..{self.severities[-1]}), got {len(values)}")
            if not all(0.0 <= e <= 1.0 for e in values):
                raise CorruptionErrorsError(f"{c}: errors must be fractions in [0, 1] (got {values})")
            out[c] = values
        return out


def fraction(value, name):
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise CorruptionErrorsError(f"{name} must be a fraction in [0, 1] (got {value})")
    return value


def ce(corruption_set, errors, corruptions=None):
    """CE_c (percent, baseline = 100) for each of ``corruptions`` (default: those given that the set has)."""
    corruptions = corruptions or [c for c in errors if c in corruption_set.baseline]
    checked = corruption_set.checked(errors, corruptions)
    return {c: 100.0 * sum(checked[c]) / sum(corruption_set.baseline[c]) for c in corruptions}


def relative_ce(corruption_set, errors, clean_error, corruptions=None):
    """Relative CE_c (percent, baseline = 100); ``clean_error`` is the model's clean top-1 error (fraction)."""
    corruptions = corruptions or [c for c in errors if c in corruption_set.baseline]
    checked = corruption_set.checked(errors, corruptions)
    clean, base_clean = fraction(clean_error, "clean_error"), corruption_set.baseline_clean_error
    return {c: 100.0 * sum(e - clean for e in checked[c]) / sum(a - base_clean for a in corruption_set.baseline[c])
            for c in corruptions}


def mce(corruption_set, errors):
    values = ce(corruption_set, errors, corruption_set.benchmark)
    return sum(values.values()) / len(values)


def relative_mce(corruption_set, errors, clean_error):
    values = relative_ce(corruption_set, errors, clean_error, corruption_set.benchmark)
    return sum(values.values()) / len(values)


def mean_error(corruption_set, errors):
    """Unnormalised mean top-1 error over the benchmark cells, percent (0-100)."""
    checked = corruption_set.checked(errors, corruption_set.benchmark)
    cells = [e for values in checked.values() for e in values]
    return 100.0 * sum(cells) / len(cells)


def corruption_error(corruption_set, errors, corruptions=None):
    """Mean top-1 error over the severities of each corruption, percent."""
    checked = corruption_set.checked(errors, corruptions or list(errors))
    return {c: 100.0 * sum(v) / len(v) for c, v in checked.items()}


def group_mean_error(corruption_set, errors):
    """Mean top-1 error over the cells of each group whose corruptions are all given, percent."""
    out = {}
    for group in corruption_set.group_names:
        members = [c for c in corruption_set.benchmark if corruption_set.groups[c] == group]
        if all(c in errors for c in members):
            per = corruption_error(corruption_set, errors, members)
            out[group] = sum(per.values()) / len(per)
    return out


def definitions(corruption_set):
    """What each aggregate means, with this corruption set's numbers in the text."""
    n_b, n_s, base = len(corruption_set.benchmark), len(corruption_set.severities), corruption_set.baseline_name
    clean = f"{corruption_set.baseline_clean_error:g}"
    return {
        "mean_error": f"mean top-1 error (%) over the {n_b} benchmark corruptions x {n_s} severities, not "
                      f"normalised (the RobustCNN paper's '{corruption_set.name}' number); null unless all "
                      f"{n_b * n_s} cells were evaluated",
        "mce": f"mean over the {n_b} benchmark corruptions of CE_c = sum_s E_s,c / sum_s E^{base}_s,c, x100 "
               f"({base} = 100; lower is better); null unless all {n_b * n_s} cells were evaluated",
        "ce": f"per benchmark corruption: CE_c = sum_s E_s,c / sum_s E^{base}_s,c, x100",
        "group_mean_error": f"mean top-1 error (%) over the cells of each group "
                            f"({', '.join(corruption_set.group_names)}) whose corruptions were all evaluated",
        "corruption_error": f"per benchmark corruption: mean top-1 error (%) over severities "
                            f"{corruption_set.severities[0]}-{corruption_set.severities[-1]}",
        "extra_mean_error": f"mean top-1 error (%) over the {len(corruption_set.extra)} extra corruptions x {n_s} "
                            f"severities ({', '.join(corruption_set.extra)}), never part of mCE; null unless all "
                            f"{len(corruption_set.extra) * n_s} were evaluated",
        "extra_corruption_error": f"per extra corruption: mean top-1 error (%) over severities "
                                  f"{corruption_set.severities[0]}-{corruption_set.severities[-1]}",
        "relative_mce": f"mean over the {n_b} benchmark corruptions of sum_s (E_s,c - E_clean) / "
                        f"sum_s (E^{base}_s,c - {clean}), x100; joined at report time with this model's clean "
                        "record; null without one",
        "relative_ce": f"per benchmark corruption: sum_s (E_s,c - E_clean) / sum_s (E^{base}_s,c - {clean}), x100",
        "clean_error": "this model's clean top-1 error (%), from its clean companion record (joined at report time)",
    }


RECORD_AGGREGATES = ("mean_error", "mce", "ce", "group_mean_error", "corruption_error", "extra_mean_error",
                     "extra_corruption_error")
JOINED_AGGREGATES = ("relative_mce", "relative_ce", "clean_error")


def aggregates(corruption_set, errors):
    """The aggregates a record holds, from the complete corruptions in ``errors``; numbers that need
    cells not given are null. Values that need another record (relative CE) are in ``joined``."""
    have_bench = [c for c in corruption_set.benchmark if c in errors]
    have_extra = [c for c in corruption_set.extra if c in errors]
    complete = len(have_bench) == len(corruption_set.benchmark)
    out = {
        "mean_error": mean_error(corruption_set, errors) if complete else None,
        "mce": mce(corruption_set, errors) if complete else None,
        "ce": ce(corruption_set, errors, have_bench) if have_bench else {},
        "group_mean_error": group_mean_error(corruption_set, errors),
        "corruption_error": corruption_error(corruption_set, errors, have_bench) if have_bench else {},
        "extra_mean_error": None,
        "extra_corruption_error": corruption_error(corruption_set, errors, have_extra) if have_extra else {},
    }
    if have_extra and len(have_extra) == len(corruption_set.extra):
        values = out["extra_corruption_error"].values()
        out["extra_mean_error"] = sum(values) / len(values)
    all_definitions = definitions(corruption_set)
    out["definitions"] = {k: all_definitions[k] for k in RECORD_AGGREGATES}
    return out


def joined(corruption_set, errors, clean_error):
    """The values that need the model's clean error (fraction, or None): relative CE and mCE."""
    have_bench = [c for c in corruption_set.benchmark if c in errors]
    complete = len(have_bench) == len(corruption_set.benchmark)
    if clean_error is None:
        return {"relative_mce": None, "relative_ce": None, "clean_error": None}
    return {"relative_mce": relative_mce(corruption_set, errors, clean_error) if complete else None,
            "relative_ce": relative_ce(corruption_set, errors, clean_error, have_bench) if have_bench else {},
            "clean_error": 100.0 * clean_error}
