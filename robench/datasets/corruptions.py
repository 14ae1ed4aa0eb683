"""The ``imagecorruptions`` package, made to run on today's numpy, scikit-image and setuptools.

imagecorruptions 1.1.2 (the last release) imports ``pkg_resources`` (gone from setuptools >= 81),
calls ``skimage.filters.gaussian(..., multichannel=True)`` (removed in scikit-image 0.19) and uses
``np.float_`` (removed in numpy 2). Rather than pin three old packages, the three names are
patched inside the imagecorruptions module only; nothing else in the process is changed.
Its glass blur is replaced by an equivalent 100x faster one (see ``_glass_blur_fast``).
Images corrupted this way are NOT the released ImageNet-C (several corruptions differ from the
original generator): results on them are a separate, "generated" protocol.
"""
import importlib
import importlib.util
import os
import sys
import types
import warnings
from functools import lru_cache

from robench.errors import RobenchError


def _resource_filename(package, name):
    """pkg_resources.resource_filename for a module already imported."""
    return os.path.join(os.path.dirname(sys.modules[package].__file__), name)


def _import_quietly(name):
    """Import without the deprecation warnings an unmaintained package's imports raise."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return importlib.import_module(name)


def _import_with_pkg_resources_shim(name):
    if importlib.util.find_spec("pkg_resources") is not None:
        return _import_quietly(name)
    shim = types.ModuleType("pkg_resources")
    shim.resource_filename = _resource_filename
    sys.modules["pkg_resources"] = shim
    try:
        return _import_quietly(name)
    finally:
        if sys.modules.get("pkg_resources") is shim:
            del sys.modules["pkg_resources"]


class _NumpyWithFloat_(types.ModuleType):
    """numpy, plus the ``float_`` alias that numpy 2 removed (seen by imagecorruptions only)."""

    def __init__(self, numpy):
        super().__init__("numpy")
        self._numpy = numpy
        self.float_ = numpy.float64

    def __getattr__(self, name):
        return getattr(self._numpy, name)


def _gaussian_accepting_multichannel(gaussian):
    def patched(image, *args, multichannel=None, **kwargs):
        if multichannel:
            kwargs.setdefault("channel_axis", -1)
        return gaussian(image, *args, **kwargs)

    return patched


def _glass_blur_fast(corruptions):
    """imagecorruptions' glass_blur, 100x faster, same output for the same ``np.random`` state.

    The original moves pixels one at a time with a numpy call per pixel (30 s for five severities
    of one 224x224 image). Its "swap" assigns through numpy views, so it is in fact the copy
    ``x[h, w] = x[h + dy, w + dx]``, applied in scan order; that is kept exactly, with all offsets
    drawn in one call (the legacy global RNG yields the same stream) and pixels packed into ints.
    """
    np, gaussian = corruptions.np, corruptions.gaussian

    def glass_blur(x, severity=1):
        sigma, delta, iterations = [(0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)][severity - 1]
        x = np.uint8(gaussian(np.array(x) / 255., sigma=sigma, multichannel=True) * 255)
        height, width = x.shape[:2]
        packed = (x[..., 0].astype(np.int64) << 16 | x[..., 1].astype(np.int64) << 8 | x[..., 2]).ravel().tolist()
        rows, cols = range(height - delta, delta, -1), range(width - delta, delta, -1)
        for _ in range(iterations):
            offsets = np.random.randint(-delta, delta, size=(len(rows) * len(cols), 2)).tolist()
            step = iter(offsets)
            for h in rows:
                for w in cols:
                    dx, dy = next(step)
                    packed[h * width + w] = packed[(h + dy) * width + w + dx]
        flat = np.array(packed, dtype=np.int64).reshape(height, width)
        x = np.stack([(flat >> 16) & 255, (flat >> 8) & 255, flat & 255], axis=-1).astype(np.uint8)
        return np.clip(gaussian(x / 255., sigma=sigma, multichannel=True), 0, 1) * 255

    return glass_blur


@lru_cache(maxsize=None)
def _module():
    try:
        package = _import_with_pkg_resources_shim("imagecorruptions")
    except ImportError as e:
        raise RobenchError(f"generated corruptions need the imagecorruptions package ({e}); "
                           "install it with: pip install 'robench[corrupt]'") from None
    corruptions = sys.modules["imagecorruptions.corruptions"]
    import numpy

    if not hasattr(numpy, "float_"):
        corruptions.np = _NumpyWithFloat_(numpy)
    corruptions.gaussian = _gaussian_accepting_multichannel(corruptions.gaussian)
    package.corruption_dict["glass_blur"] = _glass_blur_fast(corruptions)
    return package


def corruption_names(subset="all"):
    """'common' (the 15 benchmark corruptions), 'validation' (the 4 extra) or 'all', in their order."""
    return tuple(_module().get_corruption_names(subset))


def corrupt_array(image, corruption, severity):
    """HxWx3 uint8 array (H, W >= 32) -> corrupted HxWx3 uint8 array of the same size."""
    if min(image.shape[:2]) < 32:
        raise RobenchError(f"imagecorruptions needs images of at least 32x32 pixels (got {image.shape[1]}x"
                           f"{image.shape[0]}); use --size 32 or more")
    return _module().corrupt(image, severity=int(severity), corruption_name=corruption)
