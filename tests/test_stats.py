"""robench.stats against reference implementations: scipy's binomial interval and test, a plain numpy
bootstrap loop on the same seed, the error-consistency formula by hand, and coverage by simulation."""
import numpy as np
import pytest
from scipy.stats import binomtest

from robench.errors import RobenchError
from robench.stats import (bootstrap_counts, clopper_pearson, error_consistency, mcnemar_exact,
                           percentile_interval, proportion_interval, resample_weights, wilson)


@pytest.mark.parametrize("k,n", [(0, 10), (10, 10), (1, 7), (23_000, 30_000), (3_411, 7_500), (499, 1000)])
def test_clopper_pearson_equals_scipy(k, n):
    ref = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    low, high = clopper_pearson(k, n)
    assert abs(low - ref.low) < 1e-9 and abs(high - ref.high) < 1e-9


@pytest.mark.parametrize("k,n", [(0, 10), (10, 10), (3, 7), (23_000, 30_000), (3_411, 7_500)])
def test_wilson_equals_scipy(k, n):
    ref = binomtest(k, n).proportion_ci(confidence_level=0.9, method="wilson")
    low, high = wilson(k, n, level=0.9)
    assert abs(low - ref.low) < 1e-9 and abs(high - ref.high) < 1e-9


def test_interval_half_width_of_the_issue():
    # ImageNet-R: 30,000 images at about 46% top-1 -> about +-0.56 points
    low, high = proportion_interval(13_800, 30_000)
    assert 0.55 < 100 * (high - low) / 2 < 0.58


def test_bad_counts_are_one_line_errors():
    with pytest.raises(RobenchError, match="whole counts"):
        clopper_pearson(11, 10)
    with pytest.raises(RobenchError, match="unknown interval method"):
        proportion_interval(1, 2, method="jeffreys")


def test_bootstrap_equals_a_plain_loop_on_the_same_seed():
    rng = np.random.default_rng(1)
    correct = (rng.random((997, 6)) < 0.7).astype(float)
    fast = bootstrap_counts(correct, draws=250, seed=42)
    loop_rng = np.random.default_rng(42)
    slow = np.empty_like(fast)
    for d in range(250):
        ids = loop_rng.integers(0, 997, size=997)
        slow[d] = correct[ids].sum(axis=0)
    assert np.max(np.abs(fast - slow)) < 1e-9
    weights = resample_weights(997, draws=250, seed=42)
    assert np.max(np.abs(weights @ correct - slow)) < 1e-9
    assert not np.array_equal(bootstrap_counts(correct, draws=250, seed=43), fast)


def test_bootstrap_interval_covers_a_known_accuracy_about_95_percent_of_the_time():
    rng = np.random.default_rng(7)
    truth, n, trials, covered = 0.7, 400, 400, 0
    for t in range(trials):
        sample = (rng.random(n) < truth).astype(float)
        draws = bootstrap_counts(sample, draws=400, seed=t)[:, 0] / n
        low, high = percentile_interval(draws)
        covered += low <= truth <= high
    assert 0.93 <= covered / trials <= 0.97


def test_clopper_pearson_coverage_by_simulation():
    rng = np.random.default_rng(3)
    truth, n = 0.46, 3000
    ks = rng.binomial(n, truth, size=2000)
    covered = np.mean([lo <= truth <= hi for lo, hi in (clopper_pearson(k, n) for k in ks)])
    assert 0.93 <= covered <= 0.97


def test_mcnemar_equals_scipy_binomtest():
    rng = np.random.default_rng(5)
    for _ in range(20):
        a = rng.random(500) < 0.7
        b = np.where(rng.random(500) < 0.9, a, ~a)
        out = mcnemar_exact(a, b)
        assert out["a_only"] == np.sum(a & ~b) and out["b_only"] == np.sum(~a & b)
        ref = binomtest(out["a_only"], out["a_only"] + out["b_only"], 0.5).pvalue
        assert abs(out["p_value"] - ref) < 1e-9
    assert mcnemar_exact([True, False], [True, False])["p_value"] == 1.0


def test_error_consistency_by_hand():
    a = np.array([1, 1, 1, 0, 0, 1, 0, 1, 1, 0], bool)
    b = np.array([1, 1, 0, 0, 1, 1, 0, 1, 0, 0], bool)
    p1, p2 = 0.6, 0.5
    c_obs = 7 / 10
    c_exp = p1 * p2 + (1 - p1) * (1 - p2)
    out = error_consistency(a, b)
    assert abs(out.kappa - (c_obs - c_exp) / (1 - c_exp)) < 1e-12
    assert error_consistency(a, a).kappa == pytest.approx(1.0)
    assert error_consistency(a, ~a).kappa < 0
    assert error_consistency([True, True], [True, True]).kappa is None
    with pytest.raises(RobenchError, match="same images"):
        error_consistency([True], [True, False])
