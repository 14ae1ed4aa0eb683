"""Fidelity to ImageNet-C's generator, pinned: robench's corruptions of one 224 px crop (scikit-image's
astronaut, Resize 256 + CenterCrop 224) against the outputs of the reference functions of
hendrycks/robustness ``make_imagenet_c.py`` on the same crop after the same ``np.random.seed``, stored in
``tests/data/corruption_reference.npz`` by ``benchmarks/corruption_fidelity.py --write-pins`` (the script
that measures the fidelity table of docs/suites.md on more images and every severity).

Every corruption gives the reference's pixels exactly on this crop, before and after the release's JPEG
step. The reference's impulse noise ran on the scikit-image of 2018, whose ``random_noise`` drew from
``np.random``; the pins were made with that function (``--skimage-noise``: scikit-image 0.14.1's
``skimage/util/noise.py``)."""
import io
import os

import numpy as np
import pytest
from PIL import Image

from robench.datasets.corruptions import corrupt_array
from robench.datasets.imagenet_c_gen import clean_crop, encode

PINS = os.path.join(os.path.dirname(__file__), "data", "corruption_reference.npz")
# (max, mean) absolute differences of the uint8 outputs, before and after JPEG q85, where they are not 0
NOT_EQUAL = {}


@pytest.fixture(scope="module")
def pins():
    with np.load(PINS) as data:
        return {k: data[k] for k in data.files}


def jpeg(pixels):
    with Image.open(io.BytesIO(encode(pixels, "JPEG"))) as img:
        return np.asarray(img.convert("RGB"))


def differences(a, b):
    d = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return int(d.max()), round(float(d.mean()), 4)


def test_the_pinned_crop_is_imagenet_c_s_crop_of_the_sample(pins):
    import skimage.data

    buffer = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).save(buffer, "PNG")
    assert np.array_equal(clean_crop(buffer.getvalue()), pins["clean"])


def test_all_19_corruptions_are_pinned(pins):
    from robench.datasets.corruptions import corruption_names

    assert {k.split("/")[0] for k in pins if k != "clean"} == set(corruption_names("all"))


@pytest.mark.parametrize("cell", sorted(set(np.load(PINS).files) - {"clean"}))
def test_robench_gives_the_reference_pixels(pins, cell):
    corruption, severity = cell.split("/")
    np.random.seed(int(severity))  # the pins were made with seed = severity
    ours = corrupt_array(pins["clean"], corruption, int(severity))
    before, after = differences(ours, pins[cell]), differences(jpeg(ours), jpeg(pins[cell]))
    assert (before, after) == NOT_EQUAL.get(cell, ((0, 0.0), (0, 0.0)))
