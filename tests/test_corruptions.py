"""robench.datasets.corruptions: the imagecorruptions-imaug package, unpatched, seeded by np.random."""
import importlib.metadata
import sys

import numpy as np
import pytest

from robench.datasets import corruptions
from robench.datasets.corruptions import corrupt_array, corruption_names
from robench.errors import RobenchError

COMMON = ("gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur", "motion_blur",
          "zoom_blur", "snow", "frost", "fog", "brightness", "contrast", "elastic_transform", "pixelate",
          "jpeg_compression")
VALIDATION = ("speckle_noise", "gaussian_blur", "spatter", "saturate")


def image(height=40, width=48, seed=0):
    """Small non-square image, so that swapped height and width show."""
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_names_are_the_15_common_then_the_4_validation_corruptions():
    assert corruption_names("common") == COMMON
    assert corruption_names("validation") == VALIDATION
    assert corruption_names("all") == corruption_names() == COMMON + VALIDATION


@pytest.mark.parametrize("corruption", COMMON + VALIDATION)
def test_every_corruption_gives_uint8_rgb_of_the_input_size(corruption):
    img = image()
    for severity in range(1, 6):
        np.random.seed(severity)
        out = corrupt_array(img, corruption, severity)
        assert isinstance(out, np.ndarray) and out.dtype == np.uint8 and out.shape == img.shape, (severity, out.shape)
    assert out.shape[:2] == (40, 48)


@pytest.mark.parametrize("corruption", COMMON + VALIDATION)
def test_the_same_np_random_seed_gives_the_same_pixels(corruption):
    img = image(seed=1)
    for severity in (1, 3, 5):
        np.random.seed(1000 + severity)
        first = corrupt_array(img, corruption, severity)
        np.random.seed(1000 + severity)
        assert np.array_equal(corrupt_array(img, corruption, severity), first), severity


@pytest.mark.parametrize("corruption", ["glass_blur", "impulse_noise"])
def test_seeded_corruptions_take_their_seed_from_np_random(corruption):
    # both would draw a seed from fresh OS entropy if none were passed: robench passes one drawn from np.random
    img, outputs = image(seed=2), []
    for seed in (1, 2, 1):
        np.random.seed(seed)
        outputs.append(corrupt_array(img, corruption, 3))
    assert np.array_equal(outputs[0], outputs[2]) and not np.array_equal(outputs[0], outputs[1])


@pytest.mark.parametrize("corruption", [c for c in COMMON + VALIDATION if c not in ("glass_blur", "impulse_noise")])
def test_other_corruptions_are_the_package_unpatched(corruption):
    import imagecorruptions

    img = image(seed=3)
    for severity in (2, 5):
        np.random.seed(severity)
        ours = corrupt_array(img, corruption, severity)
        np.random.seed(severity)
        assert np.array_equal(ours, imagecorruptions.corrupt(img, severity=severity, corruption_name=corruption))


def test_glass_blur_is_the_package_glass_blur_with_a_seed_from_np_random():
    import imagecorruptions

    img = image(36, 44, seed=4)
    for severity in range(1, 6):
        np.random.seed(severity)
        seed = np.random.randint(2**32)
        np.random.seed(severity)
        assert np.array_equal(corrupt_array(img, "glass_blur", severity),
                              imagecorruptions.corrupt(img, severity=severity, corruption_name="glass_blur", seed=seed))


@pytest.mark.parametrize("shape", [(31, 64, 3), (64, 16, 3)])
def test_too_small_images_are_a_clear_error(shape):
    with pytest.raises(RobenchError, match=r"at least 32x32 pixels \(got %dx%d\); use --size 32" % (shape[1], shape[0])):
        corrupt_array(np.zeros(shape, np.uint8), "snow", 1)


def test_generator_names_the_package_and_its_version():
    assert corruptions.generator() == f"imagecorruptions-imaug {importlib.metadata.version('imagecorruptions-imaug')}"


@pytest.fixture
def fresh_module_cache():
    corruptions._module.cache_clear()
    yield
    corruptions._module.cache_clear()


def test_a_missing_package_is_a_clear_error(monkeypatch, fresh_module_cache):
    monkeypatch.setitem(sys.modules, "imagecorruptions", None)  # import raises ModuleNotFoundError
    with pytest.raises(RobenchError, match=r"need the imagecorruptions-imaug package .*pip install 'robench\[corrupt\]'"):
        corruption_names("all")
    with pytest.raises(RobenchError, match="imagecorruptions-imaug"):
        corrupt_array(image(), "snow", 1)


def test_the_old_unmaintained_package_is_a_clear_error(monkeypatch, fresh_module_cache):
    real_version = importlib.metadata.version

    def version(name):
        if name == "imagecorruptions-imaug":
            raise importlib.metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    with pytest.raises(RobenchError, match=r"not from the imagecorruptions-imaug package.*pip uninstall imagecorruptions"):
        corruption_names("all")
