"""Statistics for robench's numbers: binomial intervals, a paired bootstrap over images, McNemar's exact
test and error consistency. Pure numpy/scipy (no torch), so reports and notebooks import them cheaply.

Why these: a top-1 accuracy is a count of successes out of n images, so its uncertainty is a binomial
one and needs no resampling (``proportion_interval``); aggregates (mCE, mean error, shape bias, the
difference of two models) are functions of many such counts over the SAME images, so their uncertainty
comes from resampling image ids, never cells or variants (``paired_bootstrap``); two models on the same
images are compared on the images where they disagree (``mcnemar_exact``), and how alike their mistakes
are is Geirhos et al.'s error consistency (``error_consistency``). docs/statistics.md says more.
"""
from robench.stats.bootstrap import DEFAULT_DRAWS, DEFAULT_SEED, bootstrap_counts, percentile_interval, resample_weights
from robench.stats.consistency import error_consistency
from robench.stats.intervals import DEFAULT_LEVEL, DEFAULT_METHOD, clopper_pearson, proportion_interval, wilson
from robench.stats.paired import mcnemar_exact

__all__ = ["DEFAULT_DRAWS", "DEFAULT_LEVEL", "DEFAULT_METHOD", "DEFAULT_SEED", "bootstrap_counts", "clopper_pearson",
           "error_consistency", "mcnemar_exact", "percentile_interval", "proportion_interval", "resample_weights",
           "wilson"]
