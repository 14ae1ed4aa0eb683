"""Keeping the paper's augmentation working on today's libraries.

timm's RandAugment with ``inc1`` (the paper's ``rand-m9-mstd0.5-inc1``) maps a magnitude of 10 to
``posterize(bits=0)``; with ``mstd0.5`` around 9 that happens for ~2% of the posterize draws.
Pillow up to 11 answered with an all-black image (its LUT masks every bit); newer Pillow raises
``ValueError: bits must be between or equal to 1 and 8`` and training dies after a few hundred
images. ``patch_posterize`` gives timm's posterize ops the old answer, only where Pillow raises.
"""
from PIL import Image, ImageOps


def posterize_keep_zero_bits(img, bits_to_keep, **kwargs):
    """timm's ``posterize``, with ``bits_to_keep <= 0`` giving the black image old Pillow gave."""
    if bits_to_keep <= 0:
        return img.point([0] * 256 * len(img.getbands()))
    if bits_to_keep >= 8:
        return img
    return ImageOps.posterize(img, bits_to_keep)


def pillow_rejects_zero_bits():
    try:
        ImageOps.posterize(Image.new("RGB", (1, 1)), 0)
    except ValueError:
        return True
    return False


def patch_posterize():
    """Points timm's posterize ops at ``posterize_keep_zero_bits`` when Pillow needs it; idempotent."""
    from timm.data import auto_augment

    if not pillow_rejects_zero_bits():
        return False
    for name, fn in list(auto_augment.NAME_TO_OP.items()):
        if getattr(fn, "__name__", "") == "posterize":
            auto_augment.NAME_TO_OP[name] = posterize_keep_zero_bits
    return True
