"""Effective robustness on the leaderboard: the trend of each OOD set over the declared baseline set,
every standard-protocol row's distance from it with a bootstrap band, and the scatter that shows both.

The arithmetic is ``effective_robustness.py``'s; the baseline rule is ``baseline.py``'s. Only the
standard section is fitted and scored: its rows are measured the way the baseline's are (224 px, the
model's own preprocessing), and a trend fitted at one protocol says nothing about another's numbers.
ImageNet-C enters as accuracy (100 - mean error) and only when baseline models report it.
"""
from dataclasses import dataclass

import numpy as np
import pandas as pd

from robench.datasets.declare import Plot
from robench.leaderboard import effective_robustness as er
from robench.leaderboard.columns import column

CLEAN = "imagenet_top1"
OOD_COLUMNS = ("imagenet_r_top1", "imagenet_a_top1", "sketch_top1", "imagenet_v2_matched_frequency_top1",
               "imagenet_c_mean_error")
# 1,000 resamples: measured on the committed leaderboard (632 baseline models, 789 standard rows, 4 sets)
# at about 0.3 s in all (bootstrap_band fits every resample at once), so --check stays fast at full count
SAMPLES = er.BOOTSTRAP_SAMPLES


@dataclass(frozen=True)
class Fit:
    column_id: str
    label: str  # e.g. "ImageNet-R"
    trend: object  # effective_robustness.Trend, or None when fewer than 2 baseline models have both values
    n_baseline: int  # baseline models with both values strictly inside (0, 100)


@dataclass(frozen=True, eq=False)
class EffectiveRobustness:
    fits: list  # Fit per OOD column present in the section
    frame: object  # DataFrame: model, kind, source, baseline, clean, then per fitted column c: c, c:er, c:low, c:high
    n_baseline_rows: int  # rows the rule selects (before requiring values)


def label(column_id):
    col = column(column_id)
    return col.plot_label.split(" (")[0] if col.plot_label else col.header


def accuracy(frame, column_id):
    """A column as OOD accuracy in percent (error-like columns as 100 - value)."""
    values = frame[column_id].astype(float) if column_id in frame.columns else pd.Series(np.nan, index=frame.index)
    return 100 - values if column(column_id).error_like else values


def compute(section, baseline, samples=SAMPLES):
    """EffectiveRobustness of a standard section (a main_rows frame) over the rows ``baseline`` (a boolean
    Series) marks; None when the section has no clean top-1 or no baseline row."""
    if CLEAN not in section.columns or not baseline.any():
        return None
    clean = section[CLEAN].astype(float)
    frame = pd.DataFrame({"model": section["model"], "kind": section["kind"], "source": section["source"],
                          "baseline": baseline.to_numpy(), "clean": clean})
    usable = clean.gt(0) & clean.lt(100)
    fits = []
    for cid in OOD_COLUMNS:
        if cid not in section.columns or not section[cid].notna().any():
            continue
        ood = accuracy(section, cid)
        ok = usable & ood.gt(0) & ood.lt(100)
        base = ok & baseline
        if base.sum() < 2:
            fits.append(Fit(cid, label(cid), None, int(base.sum())))
            continue
        trend = er.fit_trend(clean[base] / 100, ood[base] / 100)
        fits.append(Fit(cid, label(cid), trend, int(base.sum())))
        values = np.full(len(section), np.nan)
        low, high = values.copy(), values.copy()
        idx = np.flatnonzero(ok.to_numpy())
        values[idx] = 100 * er.effective_robustness(trend, clean.iloc[idx] / 100, ood.iloc[idx] / 100)
        band = er.bootstrap_band(clean[base] / 100, ood[base] / 100, clean.iloc[idx] / 100, ood.iloc[idx] / 100,
                                 samples=samples)
        low[idx], high[idx] = 100 * band[0], 100 * band[1]
        frame[cid], frame[f"{cid}:er"], frame[f"{cid}:low"], frame[f"{cid}:high"] = ood, values, low, high
    return EffectiveRobustness(fits, frame.reset_index(drop=True), int(baseline.sum()))


def highlighted(frame):
    """Rows that are labelled in the scatter and always listed in the markdown: measured and reported.csv rows."""
    return frame["kind"] != 2


def scatter(result, slug):
    """The Plot of the trend scatter: one panel per fitted OOD set, logit axes."""
    fitted = [f for f in result.fits if f.trend is not None]
    return Plot("er_scatter", f"{slug}-effective-robustness",
                "ImageNet top-1 vs OOD top-1 on logit axes, with the baseline trend (effective robustness)",
                {"frame": result.frame, "fits": fitted})


def cell(value, low, high):
    """"+1.2 [+0.9, +1.5]": ER and its band in percentage points; – when missing."""
    if pd.isna(value):
        return "–"
    return f"{value:+.1f} [{low:+.1f}, {high:+.1f}]"


def fits_grid(result):
    """One row per OOD set: baseline models with both values, slope, intercept (or why there is no fit)."""
    from robench.leaderboard.tables import Grid

    rows = []
    for fit in result.fits:
        if fit.trend is None:
            rows.append([fit.label, str(fit.n_baseline), "–", "–",
                         "no fit: fewer than 2 baseline models report it"])
        else:
            rows.append([fit.label, str(fit.n_baseline), f"{fit.trend.slope:.3f}", f"{fit.trend.intercept:.3f}",
                         "fitted"])
    return Grid(["OOD set", "Baseline models", "Slope", "Intercept", "Trend"], [None] * 5, 1, rows)


def rows_grid(result, shown_index=None):
    """Model, Source, then ER [band] per fitted set, for the rows at ``shown_index`` (None: every row with a
    value); numbers signed, in percentage points, so the page sorts them as numbers."""
    from robench.leaderboard.tables import Grid

    fitted = [f for f in result.fits if f.trend is not None]
    frame = result.frame
    if shown_index is None:
        has = frame[[f"{f.column_id}:er" for f in fitted]].notna().any(axis=1)
        shown_index = [i for i in range(len(frame)) if has.iat[i]]
    rows = []
    for i in shown_index:
        row = frame.iloc[i]
        rows.append([row["model"], row["source"] + (" (baseline)" if row["baseline"] else ""),
                     *[cell(row[f"{f.column_id}:er"], row[f"{f.column_id}:low"], row[f"{f.column_id}:high"])
                       for f in fitted]])
    return Grid(["Model", "Source", *[f"ER {f.label} ↑" for f in fitted]], [None] * (2 + len(fitted)), 2, rows)
