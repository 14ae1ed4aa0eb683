"""Faster implementations of corruptions whose output is bit-identical to the reference's.

``zoom_blur`` averages the image with 11-16 zoomed copies of its centre, each zoomed by
``scipy.ndimage.zoom(order=1)`` (about 9.6 images/s through the package). ndimage evaluates every output
value as a sum over the 2^3 corners of its (y, x, channel) cell, in double precision, in a fixed order:
``t = 0; for each corner (y outer, x, channel inner): t += ((value * wy) * wx) * wc``, with the weights
``w0 = 1 - f``, ``w1 = 1 - w0`` of the fractional coordinate ``f`` of ``i * (n_in - 1) / (n_out - 1)``, and
rounds ``t`` to float32. The channel weights are exactly 1 and 0 (the channel coordinate is an
integer), so only the four (y, x) corners count and adding the zero terms changes nothing. robench does
the same arithmetic in the same order in a numba loop, only for the output rows and columns that survive
the trim, adding each value to the float32 sum as the reference does: the same float32 values
(a whole-array numpy version of the same arithmetic was slower than scipy: its gathers cost more than
the sums) (``tests/test_corruption_speed.py`` compares them
bit for bit with scipy on many images and factors; ``benchmarks/corruption_throughput.py`` measures it).
"""
from functools import lru_cache

import numpy as np


def _axis(n_in, n_out, first, count):
    """Source indices and weights along one axis for output positions first .. first + count - 1."""
    scale = (n_in - 1) / (n_out - 1)
    coordinate = np.arange(first, first + count) * scale
    floor = np.floor(coordinate)
    w0 = 1.0 - (coordinate - floor)
    lower = floor.astype(np.int64)
    return lower, np.minimum(lower + 1, n_in - 1), w0, 1.0 - w0


@lru_cache(maxsize=None)
def _accumulate():
    """The compiled kernel (numba, no fastmath: IEEE double arithmetic in the written order; ~1 s once per
    process): ``out[i, j, k] += float32(sum of the four corner terms)`` for every output value."""
    import numba

    @numba.njit(cache=False, nogil=True)
    def accumulate(crop, out, y0, y1, wy0, wy1, x0, x1, wx0, wx1):
        height, width, channels = out.shape
        for i in range(height):
            a0, a1, b0, b1 = y0[i], y1[i], wy0[i], wy1[i]
            for j in range(width):
                c0, c1, d0, d1 = x0[j], x1[j], wx0[j], wx1[j]
                for k in range(channels):
                    t = (crop[a0, c0, k] * b0) * d0
                    t += (crop[a0, c1, k] * b0) * d1
                    t += (crop[a1, c0, k] * b1) * d0
                    t += (crop[a1, c1, k] * b1) * d1
                    out[i, j, k] += np.float32(t)

    return accumulate


def add_clipped_zoom(out, img, factor):
    """``out += clipped_zoom(img, factor)`` (HxWxC float32), where clipped_zoom is the reference's: the centre
    of ``img`` zoomed by ``scipy.ndimage.zoom(..., (factor, factor, 1), order=1)`` and trimmed back to HxW
    around its centre."""
    h, w = img.shape[:2]
    ch, cw = int(np.ceil(h / factor)), int(np.ceil(w / factor))
    top, left = (h - ch) // 2, (w - cw) // 2
    crop = np.ascontiguousarray(img[top:top + ch, left:left + cw], dtype=np.float64)
    out_h, out_w = int(round(ch * factor)), int(round(cw * factor))  # ndimage's output shape
    rows = _axis(ch, out_h, (out_h - h) // 2, h)
    columns = _axis(cw, out_w, (out_w - w) // 2, w)
    _accumulate()(crop, out, *rows, *columns)
    return out


_ZOOMS = [np.arange(1, 1.11, 0.01), np.arange(1, 1.16, 0.01), np.arange(1, 1.21, 0.02), np.arange(1, 1.26, 0.02),
          np.arange(1, 1.31, 0.03)]


def zoom_blur(x, severity):
    factors = _ZOOMS[severity - 1]
    x = (np.array(x) / 255.).astype(np.float32)
    out = np.zeros_like(x)
    for factor in factors:
        add_clipped_zoom(out, x, factor)
    x = (x + out) / (len(factors) + 1)
    return np.clip(x, 0, 1) * 255


FUNCTIONS = {"zoom_blur": zoom_blur}
