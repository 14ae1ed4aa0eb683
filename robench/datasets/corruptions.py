"""ImageNet-C's corruptions: the ``imagecorruptions-imaug`` package where it follows the reference code.

``imagecorruptions-imaug`` (PyPI; https://github.com/imaug/imagecorruptions) is the maintained
fork of ``imagecorruptions`` (https://github.com/bethgelab/imagecorruptions), which packages the
corruption code of Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common
Corruptions and Perturbations" (ICLR 2019; https://github.com/hendrycks/robustness). It installs
the same ``imagecorruptions`` module and runs unpatched on numpy 2, scikit-image >= 0.19 and
setuptools without ``pkg_resources``, so robench no longer patches anything.

Six corruptions depart from ImageNet-C's own generator (hendrycks/robustness ``make_imagenet_c.py``)
in the package: impulse_noise and glass_blur (their own random generators, not ``np.random``), frost,
elastic_transform, motion_blur and snow. ``corrupt_array`` makes those six as the reference did
(``robench.datasets.reference_corruptions``; motion blur and snow through ImageMagick, as the
reference); the other 13 are the package's (zoom blur through a faster, bit-identical implementation:
``robench.datasets.fast_corruptions``). ``libraries()`` names the version of every library that
touches the pixels: a change in any of them may change pixels, so fingerprints and records carry them.

Images corrupted this way are NOT the released ImageNet-C (the clean images are the user's, and the
libraries are today's): results on them are a separate, "generated" protocol. Any corruption the
package takes a ``seed`` for, and robench does not make itself, gets one drawn from ``np.random``, so
that the same ``np.random.seed`` always gives the same pixels.
"""
import importlib
import importlib.metadata
import inspect
from functools import lru_cache

import numpy as np

from robench.errors import RobenchError

PACKAGE = "imagecorruptions-imaug"  # the pip distribution; it installs the ``imagecorruptions`` module
_INSTALL = f"pip install 'robench[corrupt]' (or: pip install {PACKAGE})"


@lru_cache(maxsize=None)
def _module():
    try:
        package = importlib.import_module("imagecorruptions")
    except ImportError as e:
        raise RobenchError(f"generated corruptions need the {PACKAGE} package ({e}); "
                           f"install it with: {_INSTALL}") from None
    try:
        importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise RobenchError(f"the imagecorruptions module found ({package.__file__}) is not from the {PACKAGE} "
                           f"package (the old, unmaintained imagecorruptions does not run on numpy 2); replace it "
                           f"with: pip uninstall imagecorruptions && {_INSTALL}") from None
    return package


def generator():
    """What corrupts images, e.g. 'imagecorruptions-imaug 1.1.5 + robench reference frost, elastic_transform,
    motion_blur, snow/1' (the package for 15 corruptions, robench's reference-following code for 4)."""
    from robench.datasets import reference_corruptions as R

    _module()
    return f"{PACKAGE} {importlib.metadata.version(PACKAGE)} + robench reference {', '.join(R.CORRUPTIONS)}/{R.VERSION}"


# distributions whose code touches the pixels of a generated image (Resize 256 is torchvision + Pillow)
_PIXEL_DISTRIBUTIONS = ("numpy", "scipy", "scikit-image", "opencv-python", "opencv-python-headless",
                        "opencv-contrib-python", "numba", "Pillow", "Wand", PACKAGE, "torchvision")


@lru_cache(maxsize=None)
def libraries():
    """{library: version} of every library that touches generated pixels, ImageMagick included
    ('missing' for ImageMagick/Wand when not installed: motion_blur and snow then refuse to run)."""
    from robench.datasets.reference_corruptions import magick_version

    out = {}
    for name in _PIXEL_DISTRIBUTIONS:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            if name in ("Wand", "numba"):
                out[name] = "missing"
    if not any(k.startswith("opencv") for k in out):
        import cv2

        out["opencv"] = cv2.__version__
    out["ImageMagick"] = magick_version() or "missing"
    return out


def version_changes(recorded):
    """'numpy 2.4.6 -> 2.5.0, ...' for the libraries whose installed version differs from ``recorded``
    ({library: version}, e.g. a generated folder's marker); '' when none does."""
    now = libraries()
    return ", ".join(f"{k} {v} -> {now.get(k, 'missing')}" for k, v in recorded.items() if now.get(k, "missing") != v)


def libraries_text():
    """``libraries()`` on one line, e.g. 'numpy 2.4.6, scipy 1.17.1, ...'."""
    return ", ".join(f"{k} {v}" for k, v in libraries().items())


@lru_cache(maxsize=None)
def _takes_seed(corruption):
    return "seed" in inspect.signature(_module().corruption_dict[corruption]).parameters


def corruption_names(subset="all"):
    """'common' (the 15 benchmark corruptions), 'validation' (the 4 extra) or 'all', in their order."""
    return tuple(_module().get_corruption_names(subset))


def corrupt_array(image, corruption, severity):
    """HxWx3 uint8 array (H, W >= 32) -> corrupted HxWx3 uint8 array of the same size.

    All randomness comes from the global ``np.random`` state: the same ``np.random.seed`` gives the
    same pixels."""
    if min(image.shape[:2]) < 32:
        raise RobenchError(f"imagecorruptions needs images of at least 32x32 pixels (got {image.shape[1]}x"
                           f"{image.shape[0]}); use --size 32 or more")
    package = _module()
    from robench.datasets import reference_corruptions as R

    from robench.datasets import fast_corruptions as F

    own = R.FUNCTIONS.get(corruption) or F.FUNCTIONS.get(corruption)
    if own is not None and int(severity) in (1, 2, 3, 4, 5):
        pixels = np.array(image, dtype=np.uint8)
        if pixels.ndim == 2:
            pixels = np.stack([pixels] * 3, axis=-1)
        return np.uint8(own(pixels, int(severity)))
    if corruption in package.corruption_dict and _takes_seed(corruption):
        kwargs = {"seed": int(np.random.randint(2**32))}
    else:
        kwargs = {}
    return package.corrupt(image, severity=int(severity), corruption_name=corruption, **kwargs)
