"""Per-corruption throughput of the generated ImageNet-C: robench now vs the package alone (before).

Images per second of one process (one thread each for OpenCV and numba's callers; the machine's BLAS as
it is) over 224 px crops (scikit-image's sample photographs, as ImageNet-C's crops), each of severities
1-5 in turn, after one warm-up call per corruption (numba compiles glass blur once per process):

- ``robench``: ``robench.datasets.corruptions.corrupt_array`` (what ``imagenet-c-gen`` runs);
- ``package``: ``imagecorruptions.corrupt`` of ``imagecorruptions-imaug``, what robench ran before;
- ``reference`` (with ``--reference make_imagenet_c.py``): the reference functions themselves, loaded as
  ``corruption_fidelity.py`` loads them (glass blur's Python loop takes seconds per image);
- the JPEG q85 encode of one image, the release's saving step.

    python benchmarks/corruption_throughput.py --corruptions zoom_blur,glass_blur --repeats 3
"""
import argparse
import io
import os
import sys
import time

import numpy as np


def rate(function, crops, repeats):
    """Images per second of function(crop, severity) over the crops x severities 1..5, ``repeats`` times."""
    function(crops[0], 1)  # warm-up: compilation, caches, lazy imports
    start, n = time.perf_counter(), 0
    for _ in range(repeats):
        for i, crop in enumerate(crops):
            for severity in range(1, 6):
                np.random.seed(100 * i + severity)
                function(crop, severity)
                n += 1
    return n / (time.perf_counter() - start)


def main(argv=None):
    import cv2

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from corruption_fidelity import NAMES, load_reference, sample_crops
    from PIL import Image

    from robench.datasets.corruptions import corrupt_array, _takes_seed
    from robench.datasets.imagenet_c_gen import encode

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corruptions", default=",".join(NAMES))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--reference", help="make_imagenet_c.py, to time the reference functions too")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    crops = [crop for _, crop in sample_crops()]
    reference = load_reference(args.reference) if args.reference else None
    import imagecorruptions

    def package(crop, severity, corruption):
        kwargs = {"seed": int(np.random.randint(2**32))} if _takes_seed(corruption) else {}
        return imagecorruptions.corrupt(crop, severity=severity, corruption_name=corruption, **kwargs)

    print("| corruption | robench img/s | package img/s (before) | robench / package |"
          + (" reference img/s | robench / reference |" if reference else ""))
    print("|---|---|---|---|" + ("---|---|" if reference else ""))
    for corruption in args.corruptions.split(","):
        ours = rate(lambda c, s: corrupt_array(c, corruption, s), crops, args.repeats)
        theirs = rate(lambda c, s: package(c, s, corruption), crops, args.repeats)
        row = f"| {corruption} | {ours:.1f} | {theirs:.1f} | {ours / theirs:.2f} |"
        if reference:
            function = reference[NAMES[corruption]]
            ref = rate(lambda c, s: np.uint8(np.asarray(function(Image.fromarray(c), s))), crops,
                       1 if corruption == "glass_blur" else args.repeats)
            row += f" {ref:.1f} | {ours / ref:.2f} |"
        print(row, flush=True)
    jpeg = rate(lambda c, s: encode(c, "JPEG"), crops, 20)
    print(f"\nJPEG q85 optimize encode: {jpeg:.0f} img/s")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main()
