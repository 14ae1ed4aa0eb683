"""ImageNet-C aggregates against hand computations, with the AlexNet constants from package data."""
import subprocess
import sys

import pytest

from robench.metrics import mce, mean_error, relative_mce
from robench.metrics import imagenet_c as C

# The 15 benchmark corruptions and AlexNet's mean error over their five severities, copied by hand
# from the "mean" column of the published table (not from the s1..s5 columns the code reads).
ALEXNET_MEAN = {
    "gaussian_noise": 0.886428, "shot_noise": 0.894468, "impulse_noise": 0.922640,
    "defocus_blur": 0.819880, "glass_blur": 0.826268, "motion_blur": 0.785948, "zoom_blur": 0.798360,
    "snow": 0.866816, "frost": 0.826572, "fog": 0.819324, "brightness": 0.564592,
    "contrast": 0.853204, "elastic_transform": 0.646056, "pixelate": 0.717840, "jpeg_compression": 0.606500,
}


def test_package_data_holds_the_published_constants():
    table = C.alexnet_errors()
    assert C.benchmark_corruptions() == tuple(ALEXNET_MEAN)
    assert C.extra_corruptions() == ("speckle_noise", "gaussian_blur", "spatter", "saturate")
    assert table["fog"] == (0.67474, 0.76050, 0.84378, 0.87260, 0.94500)
    assert C.alexnet_clean_error() == 0.43478
    for c, mean in ALEXNET_MEAN.items():
        assert sum(table[c]) / 5 == pytest.approx(mean, abs=1e-6)
    assert [C.corruption_group(c) for c in ("shot_noise", "zoom_blur", "brightness", "pixelate", "spatter")] == [
        "noise", "blur", "weather", "digital", "extra"]


def test_alexnet_itself_scores_100():
    alexnet = C.alexnet_errors()
    assert mce(alexnet) == pytest.approx(100.0, abs=1e-12)
    assert relative_mce(alexnet, 0.43478) == pytest.approx(100.0, abs=1e-12)
    assert mean_error(alexnet) == pytest.approx(100 * sum(ALEXNET_MEAN.values()) / 15, abs=1e-9)


def test_constant_error_table_by_hand():
    errors = {c: [0.5] * 5 for c in ALEXNET_MEAN}
    # CE_c = (5 * 0.5) / (5 * mean_c); mCE = mean over the 15 corruptions
    hand = sum(0.5 / m for m in ALEXNET_MEAN.values()) / 15 * 100
    assert mce(errors) == pytest.approx(hand, abs=1e-9)
    assert mce(errors) == pytest.approx(64.6726, abs=1e-3)  # sum of 0.5/mean_c, worked out by hand
    assert mean_error(errors) == pytest.approx(50.0, abs=1e-12)
    # relative: (5 * (0.5 - 0.25)) / (5 * (mean_c - 0.43478))
    hand_rel = sum(0.25 / (m - 0.43478) for m in ALEXNET_MEAN.values()) / 15 * 100
    assert relative_mce(errors, 0.25) == pytest.approx(hand_rel, abs=1e-9)


def test_one_corruption_by_hand_and_extras_ignored():
    errors = {c: [0.5] * 5 for c in ALEXNET_MEAN}
    errors["gaussian_noise"] = [0.1, 0.2, 0.3, 0.4, 0.5]
    ce = C.ce(errors)
    assert ce["gaussian_noise"] == pytest.approx(100 * 1.5 / 4.43214, abs=1e-9)
    assert ce["gaussian_noise"] == pytest.approx(33.8437, abs=1e-4)
    rel = C.relative_ce(errors, 0.05)
    assert rel["gaussian_noise"] == pytest.approx(100 * (1.5 - 5 * 0.05) / (4.43214 - 5 * 0.43478), abs=1e-9)
    with_extra = dict(errors, saturate=[1.0] * 5, spatter=[0.0] * 5)
    assert mce(with_extra) == mce(errors)
    assert mean_error(with_extra) == mean_error(errors) == pytest.approx(100 * (1.5 + 14 * 2.5) / 75, abs=1e-12)


def test_missing_or_malformed_input_is_a_clear_error():
    errors = {c: [0.5] * 5 for c in ALEXNET_MEAN}
    del errors["fog"]
    with pytest.raises(C.CorruptionErrorsError, match="missing for fog"):
        mce(errors)
    with pytest.raises(ValueError, match="missing for fog"):  # also a ValueError for library users
        mean_error(errors)
    errors["fog"] = [0.5] * 4
    with pytest.raises(C.CorruptionErrorsError, match="fog: expected 5 errors"):
        mce(errors)
    errors["fog"] = [50, 50, 50, 50, 50]  # percent instead of fractions
    with pytest.raises(C.CorruptionErrorsError, match="fractions"):
        mce(errors)
    errors["fog"] = [0.5] * 5
    with pytest.raises(C.CorruptionErrorsError, match="clean_error"):
        relative_mce(errors, 43.0)


def test_aggregates_with_a_subset_and_without_clean_error():
    errors = {c: [0.4] * 5 for c in ALEXNET_MEAN if C.corruption_group(c) in ("noise", "weather")}
    errors["spatter"] = [0.2, 0.2, 0.2, 0.2, 0.7]
    out = C.aggregates(errors, clean_error=None)
    assert out["mce"] is None and out["mean_error"] is None and out["relative_mce"] is None
    assert out["relative_ce"] is None and out["clean_error"] is None
    assert set(out["ce"]) == {"gaussian_noise", "shot_noise", "impulse_noise", "snow", "frost", "fog", "brightness"}
    assert out["group_mean_error"] == pytest.approx({"noise": 40.0, "weather": 40.0})
    assert out["extra_corruption_error"] == pytest.approx({"spatter": 30.0})
    assert out["extra_mean_error"] is None  # 1 of the 4 extra corruptions
    assert set(out["definitions"]) >= {"mce", "relative_mce", "mean_error", "ce", "extra_mean_error"}


def test_aggregates_complete_table():
    errors = {c: [0.3] * 5 for c in C.alexnet_errors()}
    out = C.aggregates(errors, clean_error=0.1)
    assert out["mean_error"] == pytest.approx(30.0)
    assert out["mce"] == pytest.approx(mce(errors))
    assert out["relative_mce"] == pytest.approx(relative_mce(errors, 0.1))
    assert out["clean_error"] == pytest.approx(10.0)
    assert out["extra_mean_error"] == pytest.approx(30.0)
    assert out["corruption_error"]["fog"] == pytest.approx(30.0)
    assert "saturate" not in out["ce"] and "saturate" not in out["corruption_error"]


def test_public_api_does_not_import_torch():
    code = ("import sys; from robench.metrics import mce, relative_mce, mean_error; "
            "from robench.metrics.imagenet_c import alexnet_errors; mce(alexnet_errors()); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
