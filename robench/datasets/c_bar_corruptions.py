"""The 10 ImageNet-C-bar corruptions, written from the definitions of facebookresearch/augmentation-corruption
(``imagenet_c_bar/corrupt.py``, the classes that ``make_imagenet_c_bar.py`` builds through
``transform_finder.build_transform``), vectorised with numpy.

Each function is ``f(image, severity, rng) -> uint8``: ``image`` a HxWx3 uint8 array (224x224 in the
benchmark), ``severity`` the parameter of ``imagenet_c_bar.csv`` (e.g. 2.35, not 1..5), ``rng`` a
``np.random.RandomState`` that plays the part of the reference's global ``np.random``: the reference's
``Transform.__call__`` draws its parameters (``sample_parameters``) from ``np.random`` and then transforms;
here the same draws, in the same order, come from ``rng``, and the inner ``RandomState(seed)`` streams
(noise phases, ray lengths, the Perlin tables, the checkerboard grid) are those of the reference. With
``rng = RandomState(s)`` each function gives the reference's output after ``np.random.seed(s)``.

Why vectorised: the reference computes most of these one pixel at a time in Python (up to seconds per
224 px image). The arithmetic here is the reference's, in the same order and dtypes, so the result is the
same up to the last bit of a few library calls (see ``benchmarks/c_bar_fidelity.py`` and docs/suites.md).
The dtypes follow NumPy 2's promotion rules, as the reference behaves when run with NumPy 2 (only
caustic refraction's bilinear step differs from NumPy 1's value-based casting, which kept it in float32).
"""
from functools import lru_cache

import numpy as np

VERSION = 1  # bump when any function's output changes (it is in the generated marker)


def float_parameter(level, maxval):
    """The reference's severity scaling: ``level * maxval / 10`` (level: the CSV parameter)."""
    return float(level) * maxval / 10.


def _grid(size):
    """(y, x) int64 coordinate arrays of a size x size image, y down the rows."""
    y, x = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    return y, x


def _size(image):
    h, w = image.shape[:2]
    if h != w or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"ImageNet-C-bar corruptions take square HxWx3 images, got shape {image.shape}")
    return h


# --- additive patterns ------------------------------------------------------------------------------

def single_frequency_greyscale(image, severity, rng):
    size = _size(image)
    freq_mag = rng.uniform(low=-np.pi, high=np.pi)
    freq_2 = rng.uniform(low=-abs(freq_mag), high=abs(freq_mag))
    freq = np.array([freq_mag, freq_2])[rng.permutation(2)]
    phase = rng.uniform(low=0, high=2 * np.pi)
    intensity = float_parameter(severity, 196)
    y, x = _grid(size)
    noise = np.sin(x * freq[0] + y * freq[1] + phase)
    return np.clip(image + intensity * noise[..., None], 0, 255).astype(np.uint8)


def cocentric_sine_waves(image, severity, rng):
    size = _size(image)
    offset = rng.uniform(low=0, high=size, size=2)
    freq = rng.uniform(low=0, high=10)
    amplitude = rng.uniform(low=0, high=size / 10)
    ring_width = rng.uniform(low=0, high=size / 10)
    intensity = [float_parameter(severity, 128) for _ in range(3)]
    y, x = _grid(size)
    angle = np.arctan2(x - offset[0], y - offset[1]) * freq
    distance = ((np.sqrt((x - offset[0]) ** 2 + (y - offset[1]) ** 2) + np.sin(angle) * amplitude)
                % ring_width) / ring_width
    distance -= 1 / 2
    noise = np.stack([intensity[c] * distance for c in range(3)], axis=2)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def plasma_noise(image, severity, rng):
    size = _size(image)
    time = rng.uniform(low=0.0, high=6 * np.pi)
    iterations = rng.randint(low=4, high=7)
    sharpness = rng.uniform(low=0.5, high=1.0)
    scale = rng.uniform(low=0.075, high=0.2) * size
    intensity = float_parameter(severity, 64)
    y, x = _grid(size)
    x, y = x / scale, y / scale
    i = np.array([1.0, 1.0, 1.0, 0.0])  # the same for every pixel: kept as the reference's array
    for _ in range(iterations):
        r0 = np.cos(y * i[0] - i[3] + time / i[1]) / i[2]
        r1 = np.sin(x * i[0] - i[3] + time / i[1]) / i[2]
        r0, r1 = r0 + (-r1) * 0.3, r1 + r0 * 0.3
        x = x + r0
        y = y + r1
        i *= np.array([1.93, 1.15, (2.25 - sharpness), time * i[1]])
    noise = np.stack([np.sin(x - time), np.sin((x + y + np.sin(time)) * 0.5), np.sin(y + time)], axis=2)
    return np.clip((1 - intensity / 255) * image + intensity * noise, 0, 255).astype(np.uint8)


# --- sparkles ---------------------------------------------------------------------------------------

def _star(value, size, center, radius, ray_lengths, amount, inverse):
    """One star of rays over every pixel (the reference's per-pixel ``kernel``), in float64 from the
    float32 ``value`` as the reference has it."""
    y, x = _grid(size)
    rays = len(ray_lengths)
    lengths = np.asarray(ray_lengths, dtype=np.float64)
    dp0, dp1 = y - center[0], x - center[1]
    dist = np.sqrt(dp0 * dp0 + dp1 * dp1)
    angle = np.arctan2(dp1, dp0)
    d = (angle + np.pi) / (2 * np.pi) * rays
    i = d.astype(np.int64)  # d >= 0: int() is floor
    f = d - i
    if radius != 0:
        lo = lengths[i % rays]
        length = lo + f * (lengths[(i + 1) % rays] - lo)
        g = length ** 2 / (dist ** 2 + 1e-4)
        g = g ** ((100 - amount) / 50.0)
        f = f - 0.5
        f = 1 - f ** 2
        f = f * g
    f = np.clip(f, 0, 1)[..., None]
    color = np.array([255, 255, 255])
    if inverse:
        return color + f * (value - color)
    return value + f * (color - value)


def sparkles(image, severity, rng):
    size = _size(image)
    centers = rng.uniform(low=0, high=size, size=(5, 2))
    radii = np.array([float_parameter(severity, 0.1) for _ in range(5)]) * size
    amounts = np.array([50 for _ in range(5)])
    randomness = 25
    seed = rng.randint(low=0, high=2 ** 32)
    nrays = rng.randint(low=50, high=200, size=5)
    inner = np.random.RandomState(seed=seed)
    out = image
    for center, rays, amount, radius in zip(centers, nrays, amounts, radii):
        ray_lengths = [max(1, radius + randomness / 100.0 * radius * inner.randn()) for _ in range(rays)]
        out = _star(out.astype(np.float32), size, center, radius, ray_lengths, amount, inverse=False)
    return np.clip(out, 0, 255).astype(np.uint8)


def inverse_sparkles(image, severity, rng):
    size = _size(image)
    center = rng.uniform(low=0.25, high=0.75, size=2) * size
    radius = 0.25 * size
    amount = 100 - float_parameter(severity, 65)
    randomness = 25
    seed = rng.randint(low=0, high=2 ** 32)
    rays = rng.randint(low=50, high=200)
    inner = np.random.RandomState(seed=seed)
    ray_lengths = [radius + randomness / 100.0 * radius * inner.randn() for _ in range(rays)]
    out = _star(image.astype(np.float32), size, center, radius, ray_lengths, amount, inverse=True)
    return np.clip(out, 0, 255).astype(np.uint8)


# --- Perlin noise -----------------------------------------------------------------------------------

def _perlin_tables(state):
    """The permutation and gradient tables of the reference's ``PerlinNoiseGenerator`` (Ken Perlin's
    original noise), drawn from ``state`` in the reference's order: 2B+2 pairs, then B swaps. The pairs are
    drawn at once (RandomState's bounded integers are drawn one by one either way) and normalised at once
    (their squares are multiples of 2^-16: the sum is exact, so equal to the reference's BLAS norm)."""
    B = 256
    p = np.arange(2 * B + 2)
    v = (state.randint(low=0, high=2 ** 31, size=(2 * B + 2, 2)) % (2 * B) - B) / B
    g = v / np.sqrt(v[:, 0] * v[:, 0] + v[:, 1] * v[:, 1])[:, None]
    for i, j in zip(range(B - 1, -1, -1), state.randint(low=0, high=2 ** 31, size=B) % B):
        p[i], p[j] = p[j], p[i]
    # the reference copies one entry at a time: entries 2B, 2B+1 get the already copied 0, 1
    p[B:2 * B] = p[:B]
    p[2 * B:] = p[:2]
    g[B:2 * B] = g[:B]
    g[2 * B:] = g[:2]
    return p, g


def _perlin(p, g, x, y):
    """Perlin noise at (x[i], y[j]) for every i, j: x varies down the rows, y along them, so the lattice
    cell and the fractions are computed once per row and column; the arithmetic per pixel is the reference's."""
    B, N = 256, 16 * 256
    t = x + N
    bx0 = t.astype(np.int64) % B
    bx1 = (bx0 + 1) % B
    rx0 = t % 1
    rx1 = rx0 - 1.0
    t = y + N
    by0 = t.astype(np.int64) % B
    by1 = (by0 + 1) % B
    ry0 = t % 1
    ry1 = ry0 - 1.0
    i, j = p[bx0][:, None], p[bx1][:, None]
    b00, b10, b01, b11 = p[i + by0], p[j + by0], p[i + by1], p[j + by1]
    sx = (rx0 ** 2 * (3.0 - 2.0 * rx0))[:, None]
    sy = ry0 ** 2 * (3.0 - 2.0 * ry0)
    rx0, rx1 = rx0[:, None], rx1[:, None]
    u = rx0 * g[b00, 0] + ry0 * g[b00, 1]
    v = rx1 * g[b10, 0] + ry0 * g[b10, 1]
    a = u + sx * (v - u)
    u = rx0 * g[b01, 0] + ry1 * g[b01, 1]
    v = rx1 * g[b11, 0] + ry1 * g[b11, 1]
    b = u + sx * (v - u)
    return 1.5 * (a + sy * (b - a))


def perlin_noise(image, severity, rng):
    size = _size(image)
    m = np.array([[1, 0], [0, 1]]) / (32 * size / 224)
    turbulence, gain, bias = 16.0, 0.5, 0.5
    alpha = float_parameter(severity, 0.50)
    seed = rng.randint(low=0, high=2 ** 32)
    p, g = _perlin_tables(np.random.RandomState(seed=seed))
    rows, cols = np.arange(size), np.arange(size)
    ny, nx = rows * m[0, 0], cols * m[1, 1]  # [y, x] @ m: the off-diagonal is 0, so y*m00 + x*0 = y*m00
    total, f = 0.0, 1.0
    while f <= turbulence:
        total = total + np.abs(_perlin(p, g, f * ny, f * nx)) / f
        f = f * 2
    noise = np.clip(gain * total + bias, 0, 1.0)[..., None]
    out = (1 - alpha) * image.astype(np.float32) + 255 * alpha * noise
    return np.clip(out, 0, 255).astype(np.uint8)


# --- Fourier-space noises ---------------------------------------------------------------------------

@lru_cache(maxsize=8)
def _radius(size):
    """|(x, y) - size/2| per pixel as the reference computes it (``np.linalg.norm`` of each pixel's
    vector, once per size: its BLAS dot is not promised equal to a vectorised sum of squares)."""
    center = size / 2
    out = np.array([[np.linalg.norm(np.array([x, y]) - center) for x in range(size)] for y in range(size)])
    out.setflags(write=False)
    return out


def _fourier_noise(power, state):
    """Noise with the amplitude spectrum ``power`` and random phases, normalised to unit std."""
    from scipy.fftpack import ifft2

    size = power.shape[0]
    phases = state.uniform(low=0, high=2 * np.pi, size=(size, size // 2))
    if size % 2 == 0:
        phases = np.concatenate((phases, phases[::-1, ::-1]), axis=1)
    else:
        middle = state.uniform(low=0, high=2 * np.pi, size=(size // 2, 1))
        middle = np.concatenate((middle, np.array([[0.0]]), middle[::-1, :]), axis=0)
        phases = np.concatenate((phases, middle, phases[::-1, ::-1]), axis=1)
    spectrum = power * (np.cos(phases) + np.sin(phases) * 1j)
    spectrum = np.roll(spectrum, size // 2, axis=0)
    spectrum = np.roll(spectrum, size // 2, axis=1)
    noise = np.real(ifft2(spectrum))
    return noise / np.std(noise)


def blue_noise_sample(image, severity, rng):
    size = _size(image)
    seed = rng.randint(low=0, high=2 ** 32)
    threshold = float_parameter(severity, 3.0) - 2.5
    noise = _fourier_noise(_radius(size), np.random.RandomState(seed=seed))
    out = image * (noise > threshold).reshape(size, size, 1)
    return np.clip(out, 0, 255).astype(np.uint8)


def brownish_noise(image, severity, rng):
    size = _size(image)
    seed = rng.randint(low=0, high=2 ** 32)
    intensity = float_parameter(severity, 64)
    state = np.random.RandomState(seed=seed)
    power = 1 / (_radius(size) ** 2 + 1)
    noise = np.stack([_fourier_noise(power, state) for _ in range(3)], axis=2)
    return np.clip(image + intensity * noise, 0, 255).astype(np.uint8)


# --- occlusion --------------------------------------------------------------------------------------

def checkerboard_cutout(image, severity, rng):
    size = _size(image)
    angle = rng.uniform(low=0, high=2 * np.pi)
    scale = np.maximum(rng.uniform(low=0.1, high=0.25) * size, 1)
    fraction = float_parameter(severity, 1.0)
    seed = rng.randint(low=0, high=2 ** 32)
    cells = int(4 * size // scale)
    grid = np.random.RandomState(seed=seed).uniform(size=(cells, cells)) < fraction
    y, x = _grid(size)
    nx = (np.cos(angle) * y + np.sin(angle) * x) / scale
    ny = (-np.sin(angle) * y + np.cos(angle) * x) / scale
    # int() truncates toward zero; a negative index counts from the end, as Python indexing does
    keep = ((nx % 2).astype(np.int64) != (ny % 2).astype(np.int64)) | ~grid[nx.astype(np.int64), ny.astype(np.int64)]
    return np.where(keep[..., None], image, np.uint8(128)).astype(np.uint8)


# --- caustic refraction -----------------------------------------------------------------------------

_LUMA = np.array([0.2126, 0.7152, 0.0722])


def _caustics(size, time, scale):
    y, x = _grid(size)
    p0 = (y / scale % 1) * 6.28318530718 - 250
    p1 = (x / scale % 1) * 6.28318530718 - 250
    i0, i1 = p0.copy(), p1.copy()
    c, inten = 1.0, 0.005
    for n in range(5):
        t = time * (1.0 - (3.5 / (n + 1)))
        i0, i1 = p0 + (np.cos(t - i0) + np.sin(t + i1)), p1 + (np.sin(t - i1) + np.cos(t + i0))
        length = np.sqrt((p0 / (np.sin(i0 + t) / inten)) ** 2 + (p1 / (np.cos(i1 + t) / inten)) ** 2)
        c = c + 1.0 / length
    c = c / 5.0
    c = 1.17 - c ** 1.4
    color = np.clip(np.abs(c) ** 8.0, 0, 1)
    return np.repeat(color[..., None], 3, axis=2)


def _luma(caustics):
    """Per-pixel luma with a zero border (the reference's out-of-image neighbour is black). The reference
    takes ``np.dot(pixel, weights)`` per pixel; the sum in the same order, ``(r*wr + g*wg) + b*wb``, gave the
    same bits on all 250,880 pixels of 5 caustic images (OpenBLAS's 3-element dot), at 1/30 of the time."""
    size = caustics.shape[0]
    luma = np.zeros((size + 2, size + 2))
    luma[1:-1, 1:-1] = (caustics[..., 0] * _LUMA[0] + caustics[..., 1] * _LUMA[1]) + caustics[..., 2] * _LUMA[2]
    return luma


def caustic_refraction(image, severity, rng):
    from scipy.ndimage import gaussian_filter

    size = _size(image)
    time = rng.uniform(low=0.5, high=2.0)
    scale = rng.uniform(low=0.75, high=1.25) * size
    eta = 4.0
    lens_scale = float_parameter(severity, 0.5 * size)
    lighting = float_parameter(severity, 2.0)
    caustics = gaussian_filter(_caustics(size, time, scale), sigma=1)
    luma = _luma(caustics)
    north, south = luma[1:-1, :-2], luma[1:-1, 2:]  # x - 1, x + 1
    west, east = luma[:-2, 1:-1], luma[2:, 1:-1]  # y - 1, y + 1
    normal = np.stack([east - west, south - north, np.ones_like(east)], axis=-1)
    normal = normal / np.sqrt(np.sum(normal * normal, axis=-1, keepdims=True))
    vector = _refract(normal.reshape(-1, 3), eta).reshape(size, size, 3) * lens_scale
    vector = np.round(vector, 3)
    y, x = _grid(size)
    out = _bilinear(image.astype(np.float32) / 255, y + vector[..., 0], x + vector[..., 1])
    out = out + ((north - south) * lighting)[..., None]
    out = out + ((east - west) * lighting)[..., None]
    out = np.clip(out, 0, 1)
    return np.clip((out * 255).astype(np.uint8), 0, 255)


def _refract(normal, eta):
    """The reference's ``refract`` of the incident ray (0, 0, 1) through each unit normal (N x 3)."""
    incident = np.array([0.0, 0.0, 1.0])
    cos_in = normal[:, 2]  # dot(incident, normal)
    straight = np.abs(cos_in) >= 1.0 - 1e-3
    out = np.tile(incident, (len(normal), 1))
    bent = normal[~straight]
    if len(bent):
        out_angle = np.arcsin(np.sin(np.arccos(cos_in[~straight])) / eta)
        unrotated = np.stack([np.cos(out_angle), np.sin(out_angle), np.zeros_like(out_angle)], axis=-1)
        spectator = np.cross(incident, bent)
        spectator = spectator / np.sqrt(np.sum(spectator * spectator, axis=-1, keepdims=True))
        orthogonal = np.cross(bent, spectator)
        rotation = np.stack((bent, orthogonal, spectator), axis=1)
        out[~straight] = np.matmul(np.linalg.inv(rotation), unrotated[..., None])[..., 0]
    return out


def _bilinear(image, py, px):
    """The reference's ``bilinear_interpolation`` at every (py, px): pixels outside the image are 0."""
    size = image.shape[0]
    l, u = np.floor(py).astype(np.int64), np.floor(px).astype(np.int64)
    r, d = l + 1, u + 1

    def at(a, b):
        inside = (a >= 0) & (a < size) & (b >= 0) & (b < size)
        values = image[np.clip(a, 0, size - 1), np.clip(b, 0, size - 1)].astype(np.float64)
        return np.where(inside[..., None], values, 0.0)

    wu, wd = ((1.0 - px + u))[..., None], ((1.0 - d + px))[..., None]
    left = at(l, u) * wu + at(l, d) * wd
    right = at(r, u) * wu + at(r, d) * wd
    return left * ((1.0 - py + l))[..., None] + right * ((1.0 - r + py))[..., None]


CORRUPTIONS = {f.__name__: f for f in (
    blue_noise_sample, brownish_noise, caustic_refraction, checkerboard_cutout, cocentric_sine_waves,
    inverse_sparkles, perlin_noise, plasma_noise, single_frequency_greyscale, sparkles)}


def corrupt(image, corruption, severity, rng):
    """``CORRUPTIONS[corruption](image, severity, rng)`` with a clear error for an unknown name."""
    from robench.errors import RobenchError

    if corruption not in CORRUPTIONS:
        raise RobenchError(f"unknown ImageNet-C-bar corruption {corruption!r}; known: {', '.join(CORRUPTIONS)}")
    return CORRUPTIONS[corruption](np.asarray(image, dtype=np.uint8), severity, rng)
