"""Effective robustness: the logit-linear trend and each model's distance from it. Baseline points are
timm's published ImageNet / ImageNet-R top-1 of five 224 px models (leaderboard/imported/timm/)."""
import numpy as np
import pytest

from robench.errors import RobenchError
from robench.leaderboard.effective_robustness import (bootstrap_band, effective_robustness, fit_trend,
                                                      inverse_logit, logit)
from robench.leaderboard.importers import read_timm
from tests.test_leaderboard_importers import COMMIT, shipped

MODELS = ["resnet50.tv_in1k", "resnet18.tv_in1k", "resnet101.tv_in1k", "densenet121.tv_in1k", "vgg16.tv_in1k"]


def baseline():
    rows = read_timm(shipped(), COMMIT).set_index("model").loc[MODELS]
    return rows["imagenet_top1"].to_numpy() / 100, rows["imagenet_r_top1"].to_numpy() / 100


def test_the_fit_equals_numpys_polyfit_on_the_logits():
    clean, ood = baseline()
    trend = fit_trend(clean, ood)
    slope, intercept = np.polyfit(logit(clean), logit(ood), 1)
    assert abs(trend.slope - slope) < 1e-9 and abs(trend.intercept - intercept) < 1e-9 and trend.n == 5


def test_a_model_on_the_line_has_zero_effective_robustness_and_one_above_it_the_gap():
    clean, ood = baseline()
    trend = fit_trend(clean, ood)
    on_line = float(inverse_logit(trend.slope * logit(0.8) + trend.intercept))
    er = effective_robustness(trend, [0.8, 0.8], [on_line, on_line + 0.05])
    assert abs(er[0]) < 1e-12 and abs(er[1] - 0.05) < 1e-12


def test_the_bootstrap_band_is_seeded_and_holds_the_point_estimate():
    clean, ood = baseline()
    low, high = bootstrap_band(clean, ood, clean, ood, samples=200)
    again = bootstrap_band(clean, ood, clean, ood, samples=200)
    assert np.array_equal(low, again[0]) and np.array_equal(high, again[1])
    er = effective_robustness(fit_trend(clean, ood), clean, ood)
    assert np.all(low <= er + 1e-12) and np.all(er <= high + 1e-12)


@pytest.mark.parametrize("clean,ood", [([0.7, 1.0], [0.3, 0.4]), ([0.7], [0.3]), ([0.7, 0.8], [0.0, 0.4])])
def test_accuracies_that_cannot_be_fitted_are_one_line(clean, ood):
    with pytest.raises(RobenchError) as info:
        fit_trend(clean, ood)
    assert "\n" not in str(info.value)
