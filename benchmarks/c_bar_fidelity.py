"""ImageNet-C-bar: robench's corruptions (robench/datasets/c_bar_corruptions.py) against the reference code of
facebookresearch/augmentation-corruption (imagenet_c_bar/corrupt.py), on the same image with the same
random draws, and the speed of each.

The reference is read from a checkout or a bare mirror of that repository (``--reference``, default the
mirror robench's maintainers keep); it is not needed for robench's tests: ``--write-pins`` stores the
reference's outputs on small images in tests/data/c_bar_reference.npz, which tests/test_c_bar_generation.py
compares robench's output to.

    python benchmarks/c_bar_fidelity.py [--size 224] [--images 2] [--severity-index 2]
    python benchmarks/c_bar_fidelity.py --speed-only --images 20
    python benchmarks/c_bar_fidelity.py --write-pins tests/data/c_bar_reference.npz   # 48 px, severities 1 and 5

Prints, per corruption: max and mean |robench - reference| over the pixels (uint8), the share of pixels
that differ, the same after the JPEG q85 step, and images per second of robench's code and of the
reference's at that size (one core).
"""
import argparse
import io
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

MIRROR = "/work/.mirror/facebookresearch+augmentation-corruption/repo"
CLASSES = {"blue_noise_sample": "BlueNoiseSample", "brownish_noise": "BrownishNoise",
           "caustic_refraction": "CausticRefraction", "checkerboard_cutout": "CheckerBoardCutOut",
           "cocentric_sine_waves": "CocentricSineWaves", "inverse_sparkles": "InverseSparkles",
           "perlin_noise": "PerlinNoise", "plasma_noise": "PlasmaNoise",
           "single_frequency_greyscale": "SingleFrequencyGreyscale", "sparkles": "Sparkles"}


def reference_module(path):
    """imagenet_c_bar/corrupt.py of a checkout, or of a bare repository (extracted to a temporary folder)."""
    folder = os.path.join(path, "imagenet_c_bar")
    if not os.path.isdir(folder):
        tmp = tempfile.mkdtemp(prefix="c-bar-reference-")
        archive = subprocess.run(["git", "-C", path, "archive", "HEAD", "imagenet_c_bar"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        folder = os.path.join(tmp, "imagenet_c_bar")
    sys.path.insert(0, folder)
    import corrupt  # noqa: E402  (the reference's module)

    return corrupt


def test_image(size, seed):
    """A deterministic image with smooth regions, edges and texture (what the corruptions act on)."""
    from scipy.ndimage import gaussian_filter

    state = np.random.RandomState(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    base = np.stack([200 * x, 180 * y, 120 * (1 - x * y)], axis=2)
    texture = gaussian_filter(state.uniform(0, 255, (size, size, 3)), sigma=(size / 40, size / 40, 0))
    image = 0.6 * base + 0.8 * (texture - texture.mean()) + 40
    image[size // 3:size // 2, size // 4:3 * size // 4] = (230, 40, 30)
    return np.clip(image, 0, 255).astype(np.uint8)


def run_reference(module, name, image, parameter, seed):
    transform = getattr(module, CLASSES[name])(severity=parameter, im_size=image.shape[0])
    np.random.seed(seed)
    return np.asarray(transform(image.copy()), dtype=np.uint8)


def run_robench(name, image, parameter, seed):
    from robench.datasets.c_bar_corruptions import CORRUPTIONS

    return CORRUPTIONS[name](image.copy(), parameter, np.random.RandomState(seed))


def jpeg(pixels):
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=85, optimize=True)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def compare(module, size, images, severity_index, names):
    from robench.datasets.imagenet_c_bar import SEVERITIES

    print(f"size {size}, {images} image(s), severity {severity_index + 1}; |robench - reference| in grey levels")
    print(f"{'corruption':28} {'max':>4} {'mean':>8} {'differ':>8} {'max jpeg':>8} {'mean jpeg':>9} "
          f"{'robench img/s':>13} {'reference img/s':>15}")
    for name in names:
        parameter = SEVERITIES[name][severity_index]
        diffs, jdiffs, t_ours, t_ref = [], [], 0.0, 0.0
        run_robench(name, test_image(size, 99), parameter, 0)  # warm-up: imports and per-size caches
        for k in range(images):
            image = test_image(size, k)
            start = time.perf_counter()
            ref = run_reference(module, name, image, parameter, 1000 + k)
            t_ref += time.perf_counter() - start
            start = time.perf_counter()
            ours = run_robench(name, image, parameter, 1000 + k)
            t_ours += time.perf_counter() - start
            diffs.append(np.abs(ours.astype(int) - ref.astype(int)))
            jdiffs.append(np.abs(jpeg(ours).astype(int) - jpeg(ref).astype(int)))
        d, j = np.stack(diffs), np.stack(jdiffs)
        print(f"{name:28} {d.max():4d} {d.mean():8.5f} {np.mean(d.max(axis=-1) > 0):8.5f} {j.max():8d} "
              f"{j.mean():9.5f} {images / t_ours:13.2f} {images / t_ref:15.3f}", flush=True)


def speed(size, images, names):
    """robench's images per second per corruption (one core, severity 3, after a warm-up image)."""
    from robench.datasets.imagenet_c_bar import SEVERITIES

    batch = [test_image(size, k) for k in range(images)]
    for name in names:
        parameter = SEVERITIES[name][2]
        run_robench(name, batch[0], parameter, 0)
        start = time.perf_counter()
        for k, image in enumerate(batch):
            run_robench(name, image, parameter, k)
        print(f"{name:28} {images / (time.perf_counter() - start):8.1f} img/s", flush=True)


def write_pins(module, path, size, names):
    """The reference's outputs on one small image at severities 1 and 5 of each corruption."""
    from robench.datasets.imagenet_c_bar import SEVERITIES

    image = test_image(size, 0)
    arrays = {"image": image}
    for name in names:
        for index in (0, 4):
            seed = 7 + index
            arrays[f"{name}/{index + 1}"] = run_reference(module, name, image, SEVERITIES[name][index], seed)
            arrays[f"{name}/{index + 1}/seed"] = np.array(seed)
            ours = run_robench(name, image, SEVERITIES[name][index], seed)
            d = np.abs(ours.astype(int) - arrays[f"{name}/{index + 1}"].astype(int))
            print(f"{name}/{index + 1}: max {d.max()}, mean {d.mean():.5f}", flush=True)
    np.savez_compressed(path, **arrays)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", default=MIRROR, help="augmentation-corruption checkout or bare mirror")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--severity-index", type=int, default=2, help="0..4: which column of imagenet_c_bar.csv")
    parser.add_argument("--corruptions", default=",".join(CLASSES))
    parser.add_argument("--write-pins", metavar="NPZ", help="store the reference's outputs at --pin-size px")
    parser.add_argument("--pin-size", type=int, default=48)
    parser.add_argument("--speed-only", action="store_true", help="robench's img/s only (no reference needed)")
    args = parser.parse_args()
    names = args.corruptions.split(",")
    if args.speed_only:
        return speed(args.size, args.images, names)
    module = reference_module(args.reference)
    if args.write_pins:
        write_pins(module, args.write_pins, args.pin_size, names)
    else:
        compare(module, args.size, args.images, args.severity_index, names)


if __name__ == "__main__":
    main()
