"""Fidelity of robench's generated ImageNet-C to the reference generator, per corruption.

For each of the 19 corruptions, robench's ``corrupt_array`` and the reference function of
hendrycks/robustness ``ImageNet-C/create_c/make_imagenet_c.py`` corrupt the same 224 px crops (Resize 256
+ CenterCrop 224 of scikit-image's sample photographs) after the same ``np.random.seed``; the table gives
the max and mean absolute pixel difference of the uint8 outputs, before and after the release's JPEG step
(PIL, quality 85, optimize). Deterministic corruptions must be 0 before JPEG.

The reference file is read from ``--reference`` (e.g. the hendrycks/robustness checkout) and run as
written, with shims for today's libraries only where it no longer runs: ``np.float_`` (numpy 2),
``gaussian(multichannel=True)`` (scikit-image >= 0.19: ``channel_axis=-1``), ``np.fromstring`` on bytes
(``np.frombuffer``), ``scipy.ndimage.interpolation`` (``scipy.ndimage``), and the frost texture paths
(the byte-identical copies in the imagecorruptions package). Nothing of it is copied into robench.
Its impulse noise calls scikit-image's ``random_noise``, which since scikit-image 0.19 ignores
``np.random``: ``--skimage-noise`` gives the ``skimage/util/noise.py`` of the scikit-image of 2018 (e.g.
``git show v0.14.1:skimage/util/noise.py`` of scikit-image/scikit-image), which the reference then calls
(without it the impulse noise row compares two independent draws).

    python benchmarks/corruption_fidelity.py --reference /path/to/robustness/ImageNet-C/create_c/make_imagenet_c.py
    python benchmarks/corruption_fidelity.py --reference ... --write-pins tests/data/corruption_reference.npz
"""
import argparse
import io
import os
import sys

import numpy as np

SAMPLES = ("astronaut", "chelsea", "coffee")
NAMES = {"gaussian_noise": "gaussian_noise", "shot_noise": "shot_noise", "impulse_noise": "impulse_noise",
         "defocus_blur": "defocus_blur", "glass_blur": "glass_blur", "motion_blur": "motion_blur",
         "zoom_blur": "zoom_blur", "snow": "snow", "frost": "frost", "fog": "fog", "brightness": "brightness",
         "contrast": "contrast", "elastic_transform": "elastic_transform", "pixelate": "pixelate",
         "jpeg_compression": "jpeg_compression", "speckle_noise": "speckle_noise", "gaussian_blur": "gaussian_blur",
         "spatter": "spatter", "saturate": "saturate"}


def old_random_noise(path):
    """``random_noise`` of an old scikit-image's noise.py (e.g. 0.14.1), run with today's img_as_float."""
    import skimage.util

    code = open(path).read().replace("from .dtype import img_as_float", "")
    namespace = {"np": np, "img_as_float": skimage.util.img_as_float, "__name__": "skimage_noise_2018"}
    exec(compile(code, path, "exec"), namespace)
    return namespace["random_noise"]


def load_reference(path, skimage_noise=None):
    """The reference's distortion functions (helpers + distortions; not its data loader or main loop)."""
    import imagecorruptions
    import skimage.filters

    text = open(path).read()
    start = text.index("# /////////////// Distortion Helpers")
    stop = text.index("# /////////////// End Distortions")
    code = text[start:stop]
    code = code.replace("scipy.ndimage.interpolation", "scipy.ndimage").replace("np.fromstring(", "np.frombuffer(")
    frost_dir = os.path.join(os.path.dirname(imagecorruptions.__file__), "frost")
    for name in ("frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg", "frost6.jpg"):
        code = code.replace(f"'./{name}'", repr(os.path.join(frost_dir, name)))
    if not hasattr(np, "float_"):
        np.float_ = np.float64
    namespace = {"np": np, "__name__": "make_imagenet_c_reference"}
    exec(compile(code, path, "exec"), namespace)

    def gaussian(image, sigma=1, multichannel=None, **kwargs):
        if multichannel:
            kwargs["channel_axis"] = -1
        return skimage.filters.gaussian(image, sigma=sigma, **kwargs)

    namespace["gaussian"] = gaussian
    if skimage_noise:
        import types

        namespace["sk"] = types.SimpleNamespace(util=types.SimpleNamespace(random_noise=old_random_noise(skimage_noise)),
                                                color=namespace["sk"].color)
    return namespace


def sample_crops():
    """(name, 224x224x3 uint8 crop) of scikit-image's sample photographs, made as ImageNet-C's crops."""
    import skimage.data
    from PIL import Image

    from robench.datasets.imagenet_c_gen import clean_crop

    out = []
    for name in SAMPLES:
        buffer = io.BytesIO()
        Image.fromarray(getattr(skimage.data, name)()).save(buffer, "PNG")
        out.append((name, clean_crop(buffer.getvalue())))
    return out


def reference_output(reference, corruption, clean, severity, seed):
    from PIL import Image

    np.random.seed(seed)
    return np.uint8(np.asarray(reference[NAMES[corruption]](Image.fromarray(clean), severity)))


def robench_output(corruption, clean, severity, seed):
    from robench.datasets.corruptions import corrupt_array

    np.random.seed(seed)
    return corrupt_array(clean, corruption, severity)


def package_output(corruption, clean, severity, seed):
    """The package's own function, as robench called it before it followed the reference for four."""
    import imagecorruptions

    from robench.datasets.corruptions import _takes_seed

    np.random.seed(seed)
    kwargs = {"seed": int(np.random.randint(2**32))} if _takes_seed(corruption) else {}
    return imagecorruptions.corrupt(clean, severity=severity, corruption_name=corruption, **kwargs)


def jpeg(pixels):
    from PIL import Image

    from robench.datasets.imagenet_c_gen import encode

    with Image.open(io.BytesIO(encode(pixels, "JPEG"))) as img:
        return np.asarray(img.convert("RGB"))


def differences(a, b):
    d = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return int(d.max()), float(d.mean())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", required=True, help="path to make_imagenet_c.py")
    parser.add_argument("--skimage-noise", help="skimage/util/noise.py of scikit-image 0.14-0.18, for impulse noise")
    parser.add_argument("--severities", default="1,2,3,4,5")
    parser.add_argument("--corruptions", default=",".join(NAMES))
    parser.add_argument("--write-pins", help="write the reference outputs of the first sample at severity 3 "
                                             "(and elastic/frost at 1) to this .npz, for the test that pins them")
    args = parser.parse_args(argv)
    reference = load_reference(args.reference, args.skimage_noise)
    crops = sample_crops()
    severities = [int(s) for s in args.severities.split(",")]
    print("| corruption | max diff | mean diff | max diff after JPEG q85 | mean diff after JPEG q85 | "
          "imagecorruptions-imaug alone: max / mean diff |")
    print("|---|---|---|---|---|---|")
    for corruption in args.corruptions.split(","):
        raw, after, package = [], [], []
        for i, (name, clean) in enumerate(crops):
            for severity in severities:
                seed = 1000 * i + severity
                ref = reference_output(reference, corruption, clean, severity, seed)
                ours = robench_output(corruption, clean, severity, seed)
                raw.append(differences(ours, ref))
                after.append(differences(jpeg(ours), jpeg(ref)))
                package.append(differences(package_output(corruption, clean, severity, seed), ref))
        row = [max(m for m, _ in raw), np.mean([m for _, m in raw]), max(m for m, _ in after),
               np.mean([m for _, m in after])]
        print(f"| {corruption} | {row[0]} | {row[1]:.3f} | {row[2]} | {row[3]:.3f} | "
              f"{max(m for m, _ in package)} / {np.mean([m for _, m in package]):.3f} |", flush=True)
    if args.write_pins:
        pins, (name, clean) = {"clean": crops[0][1]}, crops[0]
        for corruption in NAMES:
            for severity in (1, 3) if corruption in ("elastic_transform", "frost", "snow") else (3,):
                pins[f"{corruption}/{severity}"] = reference_output(reference, corruption, clean, severity, severity)
        np.savez_compressed(args.write_pins, **pins)
        print(f"wrote {len(pins) - 1} reference outputs of {name} to {args.write_pins}", file=sys.stderr)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main()
