"""robench.datasets.corruptions: the imagecorruptions-imaug package, unpatched, seeded by np.random, for 13
corruptions; impulse noise, glass blur, frost, elastic transform, motion blur and snow as ImageNet-C's generator made them
(robench.datasets.reference_corruptions; pinned against the reference's outputs in test_corruption_fidelity)."""
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
REFERENCE = ("impulse_noise", "glass_blur", "motion_blur", "snow", "frost", "elastic_transform")  # where the package departs from the reference


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


@pytest.mark.parametrize("corruption", [c for c in COMMON + VALIDATION
                                        if c not in ("glass_blur", "impulse_noise") + REFERENCE])
def test_other_corruptions_are_the_package_unpatched(corruption):
    import imagecorruptions

    img = image(seed=3)
    for severity in (2, 5):
        np.random.seed(severity)
        ours = corrupt_array(img, corruption, severity)
        np.random.seed(severity)
        assert np.array_equal(ours, imagecorruptions.corrupt(img, severity=severity, corruption_name=corruption))


@pytest.mark.parametrize("shape", [(31, 64, 3), (64, 16, 3)])
def test_too_small_images_are_a_clear_error(shape):
    with pytest.raises(RobenchError, match=r"at least 32x32 pixels \(got %dx%d\); use --size 32" % (shape[1], shape[0])):
        corrupt_array(np.zeros(shape, np.uint8), "snow", 1)


def test_generator_names_the_package_and_its_version():
    assert corruptions.generator() == (f"imagecorruptions-imaug {importlib.metadata.version('imagecorruptions-imaug')}"
                                       " + robench reference impulse_noise, glass_blur, motion_blur, snow, frost, elastic_transform/1")


@pytest.mark.parametrize("corruption", REFERENCE)
def test_the_four_reference_corruptions_are_not_the_package(corruption):
    import imagecorruptions

    img = image(224, 224, seed=5)
    np.random.seed(2)
    ours = corrupt_array(img, corruption, 2)
    np.random.seed(2)
    theirs = imagecorruptions.corrupt(img, severity=2, corruption_name=corruption)
    assert ours.shape == theirs.shape and not np.array_equal(ours, theirs)


def test_without_imagemagick_motion_blur_and_snow_name_the_install(monkeypatch):
    from robench.datasets import reference_corruptions as R

    R._wand.cache_clear()
    monkeypatch.setitem(sys.modules, "wand.image", None)
    try:
        for corruption in ("motion_blur", "snow"):
            with pytest.raises(RobenchError, match=r"ImageMagick.*apt-get install imagemagick libmagickwand-dev.*Wand"):
                corrupt_array(image(), corruption, 1)
        assert corrupt_array(image(), "frost", 1).shape == (40, 48, 3)  # the others do not need it
    finally:
        R._wand.cache_clear()


def test_libraries_name_every_library_that_touches_pixels():
    import cv2
    import numpy

    names = corruptions.libraries()
    assert names["numpy"] == numpy.__version__ and names["ImageMagick"].split()[0][0].isdigit()
    assert any(k.startswith("opencv") and v.split(".")[0] == cv2.__version__.split(".")[0] for k, v in names.items())
    assert f"numpy {numpy.__version__}" in corruptions.libraries_text()


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
