"""Sample stores a suite accepts at its root besides class folders: Hugging Face datasets on disk
and published webdatasets, declared per suite (``Suite.hosted``) and detected by what the root holds.

A suite declares a ``HostedForms``: the last part of its one variant's name, the hub ids of its
hosted copies, the split that is its data, how a webdataset's ``.cls`` numbers classes, and what a
label outside the suite's 200-class subset means (an error for ImageNet-R/-A, a sample left out for
the clean twins that read ImageNet val). ``Suite.variants`` calls ``hosted_variants`` before the
folder scan; it returns None when the root holds none of these forms:

- ``hf:<id>`` (or a bare declared id that is not a path): the copy in the local Hugging Face caches
  (``robench.datasets.hf_cache``), then read as below; never downloaded.
- parquet files (a hub snapshot) or Arrow files (a ``datasets`` cache): ``robench.datasets.hf_parquet``.
- timm's ``_info.json`` shard sets, CLIP_benchmark's ``nshards.txt`` sets, shard URL lists:
  ``robench.datasets.published_wds``.
"""
from dataclasses import dataclass
import os

from robench.datasets.base import Variant
from robench.errors import DatasetLayoutError
from robench.labels import imagenet_wnids, subset_indices


@dataclass(frozen=True)
class HostedForms:
    variant: str  # last part of the variant's name: "val" -> imagenet/val
    hub_ids: tuple = ()  # its copies on the Hugging Face hub, e.g. ("ILSVRC/imagenet-1k", "timm/imagenet-1k-wds")
    split: str = ""  # the split that is the suite's data, in Hugging Face datasets and timm's _info.json
    clip_split: str = "test"  # CLIP_benchmark's split folder
    cls_numbering: str = "1k"  # webdataset .cls: "1k" (sorted-wnid index) or "subset" (0..199 of label_subset)
    outside_subset: str = "error"  # a label outside the suite's label_subset: "error" or "drop" (clean twins)

    def summary(self):
        """The accepted forms in one line (robench list suites, README)."""
        ids = ", ".join(self.hub_ids)
        return (f"also: Hugging Face parquet/Arrow split '{self.split}' or a published webdataset "
                f"(timm _info.json, CLIP_benchmark {self.clip_split}/nshards.txt, shard URLs)"
                + (f"; hub copies read from the local cache: {ids}" if ids else ""))


class SubsetRule:
    """Which 1k labels a suite reads: all, or those of its 200-class subset (others an error or left out)."""

    def __init__(self, suite, forms):
        self.suite_name, self.subset = suite.name, suite.label_subset
        self.allowed = None if suite.label_subset is None else frozenset(subset_indices(suite.label_subset))
        self.drop = forms.outside_subset == "drop"
        self.what = f"200 {suite.label_subset}" if self.allowed is not None else "1000 ImageNet"

    @property
    def filters(self):
        """True when labels must be known before reading (to check or drop them)."""
        return self.allowed is not None

    def keep(self, label, where):
        if self.allowed is None or label in self.allowed:
            return True
        if self.drop:
            return False
        raise DatasetLayoutError(f"{where}: class {imagenet_wnids()[label]} is not one of the {self.what} classes "
                                 f"of {self.suite_name} (timm's {self.subset}_synsets.txt); "
                                 "is this the right data set?")


def cls_table(suite, forms):
    """(.cls -> 1k index, what records say about it) for the suite's webdataset label numbering."""
    if forms.cls_numbering == "subset":
        return (subset_indices(suite.label_subset),
                f".cls: position among the 200 {suite.label_subset} classes in sorted-wnid order")
    return tuple(range(1000)), ".cls: ImageNet-1k index in sorted-wnid order"


def hosted_variants(suite, root, select=None):
    """The suite's one variant read from a hosted form at ``root``, or None when there is none."""
    forms = getattr(suite, "hosted", None)
    if forms is None:
        return None
    found = hosted_source(suite, forms, os.fspath(root))
    if found is None:
        return None
    source, folder = found
    variant = Variant(f"{suite.name}/{forms.variant}", source, n_official=suite.n_official, info={},
                      resize=suite.resize, stored_size=None if suite.resize else suite.stored_size)
    if folder is not None:
        variant.data_origin = suite.data_origin(folder)
    return suite.select_variants([variant], select) if select else [variant]


def hosted_source(suite, forms, root):
    """(source, the folder it was found in or None for a URL list), or None when ``root`` holds no hosted form."""
    from robench.datasets import hf_cache, hf_parquet, published_wds as wds

    rule = SubsetRule(suite, forms)
    to_1k, cls_text = cls_table(suite, forms)
    hub_id = hf_cache.hub_id_of(root, forms.hub_ids)
    if hub_id is not None:
        root = hf_cache.find_on_disk(hub_id, hf_cache.download_hint(hub_id, _download_patterns(hub_id, forms)))
    elif wds.is_url_list(root) and not os.path.isdir(root):
        return wds.url_list_source(root, to_1k, cls_text, rule), None
    if not os.path.isdir(root):
        return None
    found = hf_parquet.find_split(root, forms.split) if forms.split else None
    if found is not None:
        return hf_parquet.build_source(found, rule), root
    if forms.split and wds.timm_info_path(root):
        return wds.timm_source(root, forms.split, to_1k, cls_text, rule), root
    if wds.is_clip_benchmark(root):
        return wds.clip_benchmark_source(root, forms.clip_split, to_1k, cls_text, rule), root
    if hub_id is not None:
        raise DatasetLayoutError(f"{root} (the local copy of {hub_id}) holds no parquet, Arrow or webdataset files "
                                 f"of split '{forms.split or forms.clip_split}'")
    return None


def _download_patterns(hub_id, forms):
    """What of ``hub_id`` to download: the suite's split and the files that describe it."""
    if hub_id.startswith("clip-benchmark/"):
        return [f"{forms.clip_split}/*", "classnames.txt"]
    return [f"*{forms.split}*", "*.json", "*.yaml", "README.md"]
