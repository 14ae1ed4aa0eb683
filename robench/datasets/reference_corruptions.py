"""The four corruptions where ``imagecorruptions-imaug`` departs from ImageNet-C's own generator.

ImageNet-C was made by hendrycks/robustness ``ImageNet-C/create_c/make_imagenet_c.py``. The
``imagecorruptions`` package (and its fork ``imagecorruptions-imaug``) changed four of its corruptions in
ways that move pixels by tens of grey levels, so robench makes these four as the reference did (written
here from the reference's definitions and parameters; same draws from ``np.random`` in the same order):

- ``frost``: the reference draws one of the first **5** frost textures (``np.random.randint(5)``; the
  package draws from 6) and crops the texture at its own size (the package rescales it by up to 1.1x).
- ``elastic_transform``: the reference's severities (alpha, sigma, affine scale) are 244 * (2, 0.7, 0.1),
  (2, 0.08, 0.2), (0.05, 0.01, 0.02), (0.07, 0.01, 0.02), (0.12, 0.01, 0.02) and start with a random affine
  warp of three points by up to the affine scale (24 px at severity 1, 49 px at 2); the package has other
  parameters and no affine step.
- ``glass_blur``: the reference moves pixels in a Python loop that draws ``np.random.randint(-d, d, 2)`` per
  pixel from the global ``np.random``; the package draws from its own generator (a ``seed`` argument), so
  the same ``np.random.seed`` gave other pixels. robench draws the reference's numbers in one call (the same
  stream: bounded integers are drawn one 32-bit word at a time either way) and runs its loop compiled by
  numba. The reference's "swap" ``x[h, w], x[h2, w2] = x[h2, w2], x[h, w]`` on numpy rows copies
  ``x[h2, w2]`` into ``x[h, w]`` and leaves ``x[h2, w2]`` as it was (the right side holds views); robench does
  exactly that.
- ``impulse_noise``: the reference calls scikit-image's ``random_noise(mode='s&p', amount=c)``, which up to
  scikit-image 0.18 (0.13-0.18 alike, so when ImageNet-C was made in 2018) drew two boolean masks from the
  global ``np.random`` (``np.random.choice([True, False], p=[c, 1 - c])`` for the flipped values, then one
  with p 0.5 for salt vs pepper) and set flipped values to 1 (salt) or 0 (pepper); since 0.19 it draws from
  a fresh ``np.random.default_rng`` (OS entropy without a seed), which the package passes its own seed. robench
  draws the two masks as scikit-image 0.18 did.
- ``motion_blur`` and ``snow``: the reference blurs with ImageMagick's motion blur (``MagickMotionBlurImage``
  through Wand, on a PNG of the image); the package with a numpy kernel. These two need ImageMagick
  (Debian: ``apt-get install imagemagick libmagickwand-dev``) and the ``Wand`` package; without them they
  stop with one line saying so (never a silent approximation).

The frost textures are the reference's own files, shipped inside the package (byte-identical: same
sha256). Every function takes and returns an HxWx3 array; the caller truncates to uint8 as the reference
did when saving (``np.uint8``). Images of any size are accepted: the reference's 224 becomes the image's
height and width, which for 224x224 crops is the reference exactly.
"""
import io
from functools import lru_cache

import numpy as np

from robench.errors import RobenchError

VERSION = "1"  # bump when any function here changes pixels
CORRUPTIONS = ("impulse_noise", "glass_blur", "motion_blur", "snow", "frost", "elastic_transform")
MAGICK_INSTALL = ("apt-get install imagemagick libmagickwand-dev (or your system's ImageMagick 6/7 with its "
                  "MagickWand library) and pip install Wand (in robench[corrupt])")

_FROST = [(1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75)]
_FROST_FILES = ("frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg")  # randint(5): never the 6th
_IMPULSE = [.03, .06, .09, 0.17, 0.27]
_GLASS = [(0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)]  # sigma, max delta, iterations
_MOTION = [(10, 3), (15, 5), (15, 8), (15, 12), (20, 15)]
_SNOW = [(0.1, 0.3, 3, 0.5, 10, 4, 0.8), (0.2, 0.3, 2, 0.5, 12, 4, 0.7), (0.55, 0.3, 4, 0.9, 12, 8, 0.7),
         (0.55, 0.3, 4.5, 0.85, 12, 8, 0.65), (0.55, 0.3, 2.5, 0.85, 12, 12, 0.55)]
_ELASTIC = [(244 * 2, 244 * 0.7, 244 * 0.1), (244 * 2, 244 * 0.08, 244 * 0.2), (244 * 0.05, 244 * 0.01, 244 * 0.02),
            (244 * 0.07, 244 * 0.01, 244 * 0.02), (244 * 0.12, 244 * 0.01, 244 * 0.02)]


@lru_cache(maxsize=None)
def _wand():
    """Wand's Image class, or one line naming the install when ImageMagick or Wand is missing."""
    try:
        from wand.image import Image
    except ImportError as e:  # Wand not installed, or its ImportError for a missing MagickWand library
        raise RobenchError(f"motion_blur and snow are made with ImageMagick's motion blur, as ImageNet-C's generator "
                           f"made them, and it is not available ({str(e).splitlines()[0]}); install it: "
                           f"{MAGICK_INSTALL}") from None
    return Image


def magick_version():
    """'6.9.11-60 Q16', ImageMagick's version (None when ImageMagick or Wand is missing)."""
    try:
        _wand()
        import wand.version
    except (RobenchError, ImportError):
        return None
    return " ".join(wand.version.MAGICK_VERSION.split()[1:3])


def _magick_motion_blur(pixels, radius, sigma, angle):
    """ImageMagick's motion blur of uint8 pixels (HxW or HxWx3), through a PNG as the reference did; the
    result decoded by OpenCV as stored (grey when ImageMagick wrote a grey PNG), RGB order."""
    import cv2
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    with _wand()(blob=buffer.getvalue()) as img:
        img.motion_blur(radius=radius, sigma=sigma, angle=angle)
        blob = img.make_blob()
    out = cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_UNCHANGED)
    if out.dtype != np.uint8:  # a 16-bit PNG: back to the 8-bit scale the reference read
        raise RobenchError(f"ImageMagick wrote a {out.dtype} PNG for an 8-bit image; robench expects 8-bit output")
    return out if out.ndim == 2 else out[..., [2, 1, 0]]


def motion_blur(x, severity):
    radius, sigma = _MOTION[severity - 1]
    angle = np.random.uniform(-45, 45)
    out = _magick_motion_blur(np.asarray(x, np.uint8), radius, sigma, angle)
    if out.ndim == 2:  # ImageMagick saved a grey-looking image as grey PNG
        out = np.stack([out, out, out], axis=-1)
    return np.clip(out, 0, 255)


def clipped_zoom(img, factor):
    """The centre of ``img`` zoomed by ``factor`` (scipy, linear) and trimmed back to its size."""
    from scipy.ndimage import zoom

    h, w = img.shape[:2]
    ch, cw = int(np.ceil(h / factor)), int(np.ceil(w / factor))
    top, left = (h - ch) // 2, (w - cw) // 2
    out = zoom(img[top:top + ch, left:left + cw], (factor, factor, 1), order=1)
    trim_top, trim_left = (out.shape[0] - h) // 2, (out.shape[1] - w) // 2
    return out[trim_top:trim_top + h, trim_left:trim_left + w]


def snow(x, severity):
    import cv2

    c = _SNOW[severity - 1]
    x = np.array(x, dtype=np.float32) / 255.
    h, w = x.shape[:2]
    layer = np.random.normal(size=(h, w), loc=c[0], scale=c[1])
    layer = clipped_zoom(layer[..., np.newaxis], c[2])
    layer[layer < c[3]] = 0
    grey = (np.clip(layer.squeeze(), 0, 1) * 255).astype(np.uint8)
    layer = _magick_motion_blur(grey, c[4], c[5], np.random.uniform(-135, -45))
    if layer.ndim == 3:
        layer = layer[..., 0]
    layer = (layer / 255.)[..., np.newaxis]
    x = c[6] * x + (1 - c[6]) * np.maximum(x, cv2.cvtColor(x, cv2.COLOR_RGB2GRAY).reshape(h, w, 1) * 1.5 + 0.5)
    return np.clip(x + layer + np.rot90(layer, k=2), 0, 1) * 255


@lru_cache(maxsize=None)
def _frost_texture(index):
    import importlib.resources

    import cv2

    ref = importlib.resources.files("imagecorruptions") / "frost" / _FROST_FILES[index]
    with importlib.resources.as_file(ref) as path:
        texture = cv2.imread(str(path))
    if texture is None:
        raise RobenchError(f"cannot read the frost texture {ref} of the imagecorruptions package; reinstall it")
    return texture


def frost(x, severity):
    scale, weight = _FROST[severity - 1]
    x = np.asarray(x)
    h, w = x.shape[:2]
    texture = _frost_texture(np.random.randint(5))
    if texture.shape[0] <= h or texture.shape[1] <= w:
        raise RobenchError(f"frost needs images smaller than its textures ({texture.shape[1]}x{texture.shape[0]}); "
                           f"got {w}x{h}")
    top, left = np.random.randint(0, texture.shape[0] - h), np.random.randint(0, texture.shape[1] - w)
    texture = texture[top:top + h, left:left + w][..., [2, 1, 0]]
    return np.clip(scale * np.array(x) + weight * texture, 0, 255)


def elastic_transform(image, severity):
    import cv2
    from scipy.ndimage import map_coordinates
    from skimage.filters import gaussian

    alpha, sigma, affine = _ELASTIC[severity - 1]
    image = np.array(image, dtype=np.float32) / 255.
    shape = image.shape
    size = shape[:2]
    centre = np.float32(size) // 2
    square = min(size) // 3
    pts1 = np.float32([centre + square, [centre[0] + square, centre[1] - square], centre - square])
    pts2 = pts1 + np.random.uniform(-affine, affine, size=pts1.shape).astype(np.float32)
    image = cv2.warpAffine(image, cv2.getAffineTransform(pts1, pts2), size[::-1], borderMode=cv2.BORDER_REFLECT_101)
    dx = (gaussian(np.random.uniform(-1, 1, size=size), sigma=sigma, mode="reflect", truncate=3) * alpha)
    dy = (gaussian(np.random.uniform(-1, 1, size=size), sigma=sigma, mode="reflect", truncate=3) * alpha)
    dx, dy = dx.astype(np.float32)[..., np.newaxis], dy.astype(np.float32)[..., np.newaxis]
    x, y, z = np.meshgrid(np.arange(shape[1]), np.arange(shape[0]), np.arange(shape[2]))
    indices = np.reshape(y + dy, (-1, 1)), np.reshape(x + dx, (-1, 1)), np.reshape(z, (-1, 1))
    return np.clip(map_coordinates(image, indices, order=1, mode="reflect").reshape(shape), 0, 1) * 255


@lru_cache(maxsize=None)
def _glass_loop():
    """The reference's pixel loop, compiled (numba; ~1 s once per process): for each iteration, rows from
    the bottom up and columns from the right, ``x[h, w] = x[h + dy, w + dx]`` with the pre-drawn offsets."""
    import numba

    @numba.njit(cache=False, nogil=True)
    def loop(x, offsets, delta, iterations):
        height, width = x.shape[0], x.shape[1]
        k = 0
        for _ in range(iterations):
            for h in range(height - delta, delta, -1):
                for w in range(width - delta, delta, -1):
                    dx, dy = offsets[k, 0], offsets[k, 1]
                    k += 1
                    for ch in range(x.shape[2]):
                        x[h, w, ch] = x[h + dy, w + dx, ch]
        return x

    return loop


def glass_blur(x, severity):
    from skimage.filters import gaussian

    sigma, delta, iterations = _GLASS[severity - 1]
    x = np.uint8(gaussian(np.array(x) / 255., sigma=sigma, channel_axis=-1) * 255)
    height, width = x.shape[:2]
    steps = iterations * max(0, height - 2 * delta) * max(0, width - 2 * delta)
    offsets = np.random.randint(-delta, delta, size=(steps, 2)).astype(np.int64)
    x = _glass_loop()(np.ascontiguousarray(x), offsets, delta, iterations)
    return np.clip(gaussian(x / 255., sigma=sigma, channel_axis=-1), 0, 1) * 255


def _choose_true(p, shape):
    """``np.random.choice([True, False], size=shape, p=[p, 1 - p])`` without its gather, the same draws:
    legacy ``choice`` takes ``random_sample(shape)`` and picks True where a sample is below the first
    entry of the normalised cumulative ``p`` (``searchsorted(side='right')`` gives 0 there)."""
    cdf = np.cumsum([p, 1 - p])
    cdf /= cdf[-1]
    return np.random.random_sample(shape) < cdf[0]


def impulse_noise(x, severity):
    amount = _IMPULSE[severity - 1]
    x = np.array(x) / 255.
    flipped = _choose_true(amount, x.shape)
    salted = _choose_true(0.5, x.shape)
    x[flipped & salted] = 1.0
    x[flipped & ~salted] = 0.0
    return np.clip(x, 0, 1) * 255


FUNCTIONS = {"impulse_noise": impulse_noise, "glass_blur": glass_blur, "motion_blur": motion_blur, "snow": snow, "frost": frost, "elastic_transform": elastic_transform}
