"""The fast implementations give the reference's pixels bit for bit: zoom blur (a numba loop doing
scipy.ndimage.zoom's arithmetic) against the reference's scipy zoom, glass blur (offsets drawn in one
call, the loop compiled) against the reference's per-pixel Python loop, both written out here as
make_imagenet_c.py has them, on several images, every severity and a non-square size."""
import numpy as np
import pytest
from scipy.ndimage import zoom as scizoom
from skimage.filters import gaussian

from robench.datasets import fast_corruptions, reference_corruptions

ZOOMS = [np.arange(1, 1.11, 0.01), np.arange(1, 1.16, 0.01), np.arange(1, 1.21, 0.02), np.arange(1, 1.26, 0.02),
         np.arange(1, 1.31, 0.03)]
GLASS = [(0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)]


def reference_zoom_blur(x, severity):
    def clipped_zoom(img, factor):
        h, w = img.shape[:2]
        ch, cw = int(np.ceil(h / factor)), int(np.ceil(w / factor))
        top, left = (h - ch) // 2, (w - cw) // 2
        img = scizoom(img[top:top + ch, left:left + cw], (factor, factor, 1), order=1)
        trim_top, trim_left = (img.shape[0] - h) // 2, (img.shape[1] - w) // 2
        return img[trim_top:trim_top + h, trim_left:trim_left + w]

    x = (np.array(x) / 255.).astype(np.float32)
    out = np.zeros_like(x)
    for factor in ZOOMS[severity - 1]:
        out += clipped_zoom(x, factor)
    return np.clip((x + out) / (len(ZOOMS[severity - 1]) + 1), 0, 1) * 255


def reference_glass_blur(x, severity):
    sigma, delta, iterations = GLASS[severity - 1]
    x = np.uint8(gaussian(np.array(x) / 255., sigma=sigma, channel_axis=-1) * 255)
    for _ in range(iterations):
        for h in range(x.shape[0] - delta, delta, -1):
            for w in range(x.shape[1] - delta, delta, -1):
                dx, dy = np.random.randint(-delta, delta, size=(2,))
                h_prime, w_prime = h + dy, w + dx
                x[h, w], x[h_prime, w_prime] = x[h_prime, w_prime], x[h, w]  # as written: a copy, not a swap
    return np.clip(gaussian(x / 255., sigma=sigma, channel_axis=-1), 0, 1) * 255


def images(shape, n, seed):
    rng = np.random.default_rng(seed)
    out = [rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(n)]
    smooth = np.linspace(0, 255, shape[0] * shape[1] * 3).reshape(shape).astype(np.uint8)
    return out + [smooth]


@pytest.mark.parametrize("severity", [1, 2, 3, 4, 5])
def test_zoom_blur_is_the_reference_bit_for_bit(severity):
    for shape in ((224, 224, 3), (61, 83, 3)):
        for img in images(shape, 2, severity):
            want = reference_zoom_blur(img, severity)
            got = fast_corruptions.zoom_blur(img, severity)
            assert got.dtype == want.dtype and np.array_equal(got, want)


@pytest.mark.parametrize("severity", [1, 2, 3, 4, 5])
def test_glass_blur_is_the_reference_loop(severity):
    for img in images((40, 52, 3), 1, severity):
        np.random.seed(severity)
        want = reference_glass_blur(img, severity)
        after_reference = np.random.random()
        np.random.seed(severity)
        got = reference_corruptions.glass_blur(img, severity)
        assert np.array_equal(got, want)
        assert np.random.random() == after_reference  # the same number of draws from np.random


@pytest.mark.parametrize("p", [0.03, 0.17, 0.27, 0.5])
def test_impulse_masks_are_np_random_choice(p):
    """impulse noise's masks skip choice's gather but take the same draws (scikit-image <= 0.18's s&p)."""
    np.random.seed(11)
    want = np.random.choice([True, False], size=(37, 41, 3), p=[p, 1 - p])
    after = np.random.random()
    np.random.seed(11)
    got = reference_corruptions._choose_true(p, (37, 41, 3))
    assert np.array_equal(got, want) and np.random.random() == after
