"""ImageNet class indices from wnids, with timm's package data as the one source of truth.

A class index is the position of a wnid in the sorted list of the 1000 ImageNet-1k wnids. Deriving
labels from the sort order of a data set's own folders is wrong for any subset (R, A, a partial
copy of val) and is the most common cause of near-zero accuracy, so every suite goes through here.
"""
import importlib.util
import os
from functools import lru_cache

from robench.errors import DatasetLayoutError


def _read_timm_info(filename):
    """A file of timm's package data, found without importing timm (and so torch)."""
    spec = importlib.util.find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("timm is not installed; robench needs its ImageNet class lists")
    path = os.path.join(list(spec.submodule_search_locations)[0], "data", "_info", filename)
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


@lru_cache(maxsize=None)
def imagenet_wnids():
    """The 1000 ImageNet-1k wnids, in class-index order."""
    wnids = _read_timm_info("imagenet_synsets.txt")
    if len(wnids) != 1000 or wnids != sorted(wnids):
        raise RuntimeError("timm's imagenet_synsets.txt is not the sorted list of 1000 wnids")
    return tuple(wnids)


@lru_cache(maxsize=None)
def wnid_to_index():
    return {w: i for i, w in enumerate(imagenet_wnids())}


@lru_cache(maxsize=None)
def subset_indices(name):
    """1k class indices of a 200-class subset ('imagenet_r' or 'imagenet_a'), ascending."""
    wnids = _read_timm_info(f"{name}_synsets.txt")
    table = wnid_to_index()
    return tuple(sorted(table[w] for w in wnids))


@lru_cache(maxsize=None)
def wnid_lemmas():
    """wnid -> human-readable class name (first lemma)."""
    out = {}
    for line in _read_timm_info("imagenet_synset_to_lemma.txt"):
        wnid, _, lemma = line.partition("\t")
        out[wnid] = lemma.split(",")[0].strip()
    return out


@lru_cache(maxsize=None)
def imagenet_descriptions():
    """wnid -> ImageNet's class description (all lemmas, e.g. 'tench, Tinca tinca') for the 1000 classes:
    the names Hugging Face datasets give their ClassLabels."""
    wanted = set(imagenet_wnids())
    out = {}
    for line in _read_timm_info("imagenet_synset_to_lemma.txt"):
        wnid, _, description = line.partition("\t")
        if wnid in wanted:
            out[wnid] = description.strip()
    return out


def label_of(wnid, where):
    """1k index of ``wnid``; ``where`` names the folder in the error a user sees."""
    try:
        return wnid_to_index()[wnid]
    except KeyError:
        raise DatasetLayoutError(
            f"{where}: '{wnid}' is not an ImageNet-1k wnid (expected folders named like n01440764)"
        ) from None
