"""ImageNet-C-style corruptions from the ``imagecorruptions-imaug`` package, used as is.

``imagecorruptions-imaug`` (PyPI; https://github.com/imaug/imagecorruptions) is the maintained
fork of ``imagecorruptions`` (https://github.com/bethgelab/imagecorruptions), which packages the
corruption code of Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common
Corruptions and Perturbations" (ICLR 2019; https://github.com/hendrycks/robustness). It installs
the same ``imagecorruptions`` module and runs unpatched on numpy 2, scikit-image >= 0.19 and
setuptools without ``pkg_resources``, so robench no longer patches anything.

Its glass blur moves pixels in a numba-compiled loop (a few seconds of compilation on the first
call in a process, then milliseconds per image), so robench's own fast glass blur, written for
the 30-s-per-image loop of imagecorruptions 1.1.2, is gone. Unlike the other corruptions, glass
blur and impulse noise take a ``seed`` and, without one, draw it from fresh OS entropy rather than
from ``np.random``; ``corrupt_array`` passes them a seed drawn from ``np.random``, so that, like
every other corruption, they give the same pixels for the same ``np.random.seed``.

Images corrupted this way are NOT the released ImageNet-C (several corruptions differ from the
original generator, and the clean images are not ImageNet's): results on them are a separate,
"generated" protocol.
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
    """The package and version that corrupt images, e.g. 'imagecorruptions-imaug 1.1.5'."""
    _module()
    return f"{PACKAGE} {importlib.metadata.version(PACKAGE)}"


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
    if corruption in package.corruption_dict and _takes_seed(corruption):
        kwargs = {"seed": int(np.random.randint(2**32))}
    else:
        kwargs = {}
    return package.corrupt(image, severity=int(severity), corruption_name=corruption, **kwargs)
