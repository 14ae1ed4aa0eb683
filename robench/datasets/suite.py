"""The suite contract: one class per benchmark, declaring what the engine, CLI and leaderboard need.

Subclasses set the class attributes and implement ``scan``; everything else has a default that fits a
one-variant, 1000-way, resize + center crop suite. docs/plugins.md has a whole example.
"""
import os
import re

from robench.datasets import shards
from robench.datasets.base import find_data_dir, generated_info, require_directory
from robench.datasets.hosted import hosted_variants
from robench.errors import DatasetLayoutError, RobenchError


class Suite:
    name = ""
    title = ""  # how tables and prose name it, e.g. "ImageNet-C" (default: the name)
    version = "1"
    description = ""  # the protocol in one line (robench list suites)
    layout = ""  # the expected layout in one line, shown in errors and `robench list suites`
    data_dir = ""  # conventional folder under a data directory (default: the suite's name)
    folder_names = ()  # names under which the data folder is accepted below a root
    n_official = None  # images of the released data set (per variant)
    n_classes = 1000
    label_subset = None  # timm info name of a class subset, e.g. "imagenet_r": logits are restricted to it
    resize = True  # preprocessing rule: resize + center crop (True) or images as released (False)
    stored_size = 224  # side of the released images when resize is False
    metrics = None  # metric names (robench.metrics.base.METRICS); None: every registered metric
    companion = None  # the suite whose record of the same model ``joined`` needs (e.g. clean "imagenet")
    columns = ()  # robench.datasets.declare.Column: what the suite adds to the leaderboard's main table
    generates_train_split = False  # write_generated(train_per_class=N) also writes ROOT/train (for robench train)
    hosted = None  # robench.datasets.hosted.HostedForms: Hugging Face / published webdataset forms it also reads
    archives = ()  # released archives read in place when they lie in the root, e.g. ("imagenet-r.tar",)
    accepted_forms = ()  # the on-disk forms scan reads, one line each (robench list suites; default: layout)

    # --- data -----------------------------------------------------------------------------------
    def scan(self, root, select=None):
        """The variants found under a folder root; ``select`` narrows them (suite-specific)."""
        raise NotImplementedError

    def variants(self, root, select=None):
        """Variants under ``root``, from class folders, a robench webdataset shard set, or a hosted form the
        suite declares (``hosted``: Hugging Face parquet/Arrow, published webdatasets)."""
        root = os.fspath(root)
        if shards.is_shard_root(root):
            return shards.shard_variants(self, root, select)
        hosted = hosted_variants(self, root, select)
        if hosted is not None:
            return hosted
        require_directory(root, f"{self.name} data: {self.layout}")
        variants = self.scan(root, select)
        origin = self.data_origin(root)
        for v in variants:
            v.data_origin = origin
        return variants

    def data_origin(self, root):
        """'generated' when robench made the data under ``root`` (its marker file), else 'released'."""
        for folder in (root, find_data_dir(root, self.folder_names)):
            if generated_info(folder) is not None:
                return "generated"
        return "released"

    def stored_size_of(self, root):
        """The side of the images as stored: the generated marker's size, else ``stored_size``."""
        for folder in (root, find_data_dir(root, self.folder_names)):
            info = generated_info(folder)
            if info and info.get("size"):
                return int(info["size"])
        return self.stored_size

    def select_variants(self, variants, select):
        """Narrow found variants to ``select`` (names or name suffixes, e.g. 'fog' or 'fog/3')."""
        if not select:
            return list(variants)
        chosen = [v for v in variants if any(_matches(v.name, s) for s in select)]
        unknown = [s for s in select if not any(_matches(v.name, s) for v in variants)]
        if unknown:
            raise DatasetLayoutError(
                f"{self.name}: no variant matches {', '.join(unknown)} "
                f"(have: {', '.join(v.name for v in variants[:20])}{' ...' if len(variants) > 20 else ''})")
        return chosen

    def write_generated(self, out, **options):
        """Writes a small generated data set in this suite's layout under ``out``; returns the images written."""
        raise RobenchError(f"suite '{self.name}' has no generated layout")

    # --- results --------------------------------------------------------------------------------
    def aggregates(self, entries):
        """Suite-level numbers from one record's per-variant entries (dicts as in the record); pure."""
        return {}

    def joined(self, record, companion):
        """Values that need the companion's record of the same model (``companion`` may be None)."""
        return {}

    def departures(self, record):
        """{aspect: value} in which ``record`` departs from this suite's benchmark protocol, beyond the
        generic ones the leaderboard checks (weights, input size, precision, data origin, subsets)."""
        return {}

    def column_values(self, record, joined):
        """{column id: value or None} for the main table."""
        out = {}
        for col in self.columns:
            if col.source == "aggregate":
                out[col.id] = (record.get("aggregates") or {}).get(col.key)
            elif col.source == "joined":
                out[col.id] = (joined or {}).get(col.key)
            else:
                variant = _variant(record["variants"], col.variant)
                out[col.id] = None if variant is None else (variant.get("metrics") or {}).get(col.key)
        return out

    def detail_tables(self, rows):
        """DetailTables for a leaderboard section; ``rows`` are (model label, record, joined) tuples."""
        return []

    def plots(self, rows):
        """Plots for a leaderboard section, from the same rows."""
        return []

    @property
    def display_name(self):
        return self.title or self.name

    @property
    def folder(self):
        return self.data_dir or self.name


def top1_fraction(entry):
    """Top-1 accuracy of a record variant as an exact fraction of its state (None if empty): joins and
    aggregates compute from the counts, not from the rounded percentages."""
    state = entry.get("state") or {}
    n = state.get("n") or 0
    return state["correct1"] / n if n else None


def _variant(variants, suffix):
    """The only variant (``suffix`` None), or the one whose last name part matches ``suffix`` up to
    punctuation and case ('threshold0.7' finds 'imagenet-v2/threshold_0.7')."""
    if suffix is None:
        return variants[0] if len(variants) == 1 else None
    plain = _plain(suffix)
    return next((v for v in variants if _plain(v["name"].rsplit("/", 1)[-1]) == plain), None)


def _plain(text):
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


def _matches(variant_name, wanted):
    """'imagenet-c/fog/3' matches 'fog', 'fog/3' and itself."""
    parts = variant_name.split("/")
    want = wanted.strip("/").split("/")
    return any(parts[i:i + len(want)] == want for i in range(len(parts) - len(want) + 1))
