"""Webdataset copies that others publish, read as they are: timm's, CLIP_benchmark's, or a URL list.

- **timm** (``timm/imagenet-1k-wds``): ``imagenet1k-validation-{0000..0063}.tar`` beside ``_info.json``
  (or ``info.json``, ``_info.yaml``), whose ``splits.<name>`` gives ``filenames``, ``shard_lengths`` and
  ``num_samples``; samples ``.jpg`` + ``.cls`` (the 1k index, sorted-wnid order).
- **CLIP_benchmark** (``clip-benchmark/wds_<name>``): ``<split>/0.tar`` ... with ``<split>/nshards.txt``
  and ``classnames.txt`` at the root; samples ``s0000000.webp`` + ``.cls``. For ImageNet-R/-A the labels
  are 0..199, positions in the 200-class subset (sorted wnids), mapped through
  ``robench.labels.subset_indices``. Its ``webp`` images are a lossless re-encode of decoded pixels
  (its ``webdataset_builder``), not the released bytes: ``describe()`` says so (``re_encoded``).
- **URL lists**: ``x-{0000..0063}.tar`` (brace-expanded; several joined by ``::``), optionally
  ``|N`` (the number of samples, checked), with plain paths, ``file:PATH`` or ``pipe:COMMAND`` URLs.

Slicing is exact: per-shard counts come from the info file or from the once-per-shard index
(``robench.datasets.wds_index``), and a slice opens only the shards it overlaps. A shard that holds
fewer (or more) samples than its count is an error naming it; so is a key found in two shards (for
every key when the shards are indexed; for a timm set read by its declared lengths, as one reader meets
it: a one-process run reads them all).
"""
import bisect
import hashlib
import os

from robench.datasets import wds_index as W
from robench.datasets.base import Source
from robench.errors import DatasetLayoutError
from robench.labels import imagenet_wnids

TIMM_INFO = ("_info.json", "info.json", "_info.yaml", "info.yaml")
RE_ENCODED = {"webp": "lossless WebP of the decoded pixels (CLIP_benchmark's webdataset_builder)",
              "png": "PNG of the decoded pixels (CLIP_benchmark's webdataset_builder)"}


class PublishedWdsSource(Source):
    """Samples of a list of tar shards with known lengths; ``to_1k`` maps a ``.cls`` to the 1k index.

    ``labels``/``rows`` come from the shard index when it was read (every sample's 1k label, and the
    positions kept when a suite keeps only some classes); without them the ``.cls`` is read per sample."""

    def __init__(self, fmt, root, urls, names, lengths, to_1k, label_text, *, labels=None, rows=None,
                 re_encoded=None, declared_by=None):
        self.format, self.root, self.urls, self.names = fmt, root, list(urls), list(names)
        self.lengths, self.to_1k, self.label_text = list(lengths), tuple(to_1k), label_text
        self.labels, self.rows, self.re_encoded = labels, rows, re_encoded
        self.declared_by = declared_by or "its index"  # where the counts come from, for errors
        self.offsets = [0]
        for n in self.lengths:
            self.offsets.append(self.offsets[-1] + n)
        self.stats = [None if W.is_remote(u) else _stat(u) for u in self.urls]

    def __len__(self):
        return self.offsets[-1] if self.rows is None else len(self.rows)

    def describe(self):
        out = {"format": self.format, "files": list(self.names), "labels": self.label_text}
        if self.re_encoded:
            out["re_encoded"] = self.re_encoded
        return out

    def fingerprint(self):
        h = hashlib.sha256(f"{self.format}\t{self.label_text}\n".encode())
        for name, n, stat in zip(self.names, self.lengths, self.stats):
            h.update(f"{name}\t{n}\t{'' if stat is None else ' '.join(map(str, stat))}\n".encode())
        h.update(repr(self.rows).encode())
        return h.hexdigest()[:16]

    def locate(self, key):
        return f"{key} (in the {self.format} shards {_span(self.names)})"

    def iter_range(self, start, stop):
        stop = min(stop, len(self))
        wanted = {}  # shard -> {offset in shard: position}
        for position in range(start, stop):
            g = position if self.rows is None else self.rows[position]
            s = bisect.bisect_right(self.offsets, g) - 1
            wanted.setdefault(s, {})[g - self.offsets[s]] = position
        seen = {}
        for s in sorted(wanted):
            yield from self._read_shard(s, wanted[s], seen)

    def _read_shard(self, s, wanted, seen):
        url, name, length = self.urls[s], self.names[s], self.lengths[s]
        last = max(wanted)
        read = 0
        for j, (key, kind, data, raw) in enumerate(W.samples(url)):
            read = j + 1
            if j > last:
                if last == length - 1:  # the shard goes on past the samples it declares
                    raise DatasetLayoutError(f"shard {name} holds more than the {length} samples {self.declared_by} "
                                             "says; was it rewritten? (delete the cached index or fix the info file)")
                break
            if j not in wanted:
                continue
            if key in seen:
                raise DatasetLayoutError(f"key '{key}' is in shard {seen[key]} and in shard {name}: the shards "
                                         "overlap (a shard listed twice or copied under two names?)")
            seen[key] = name
            position = wanted[j]
            label = self.labels[position] if self.labels is not None else self._label(name, key, raw)
            yield f"{imagenet_wnids()[label]}/{key}.{kind}", data, label
        if read <= last:
            raise DatasetLayoutError(f"shard {name} holds {read} samples but {self.declared_by} says {length} "
                                     "(truncated? download it again)")

    def _label(self, name, key, raw):
        cls = W.parse_cls(name, key, raw)
        if not 0 <= cls < len(self.to_1k):
            raise DatasetLayoutError(f"shard {name}: sample '{key}' has .cls {cls}, outside the {len(self.to_1k)} "
                                     f"classes this set numbers ({self.label_text})")
        return self.to_1k[cls]


def _stat(path):
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def _span(names):
    return names[0] if len(names) == 1 else f"{names[0]} ... {names[-1]}"


# --- indexing ---------------------------------------------------------------------------------------
def indexed(fmt, root, urls, names, to_1k, label_text, rule, *, total=None, total_from=None, declared=None,
            declared_by=None):
    """A PublishedWdsSource from the shards' index: exact counts, every label checked by ``rule``
    (hosted.SubsetRule), keys unique across shards; ``total`` (from ``|N``) or ``declared`` per-shard
    lengths (an info file) are checked against what the shards hold."""
    lengths, labels, rows, types, owner = [], [], [], set(), {}
    position = 0
    for s, (url, name) in enumerate(zip(urls, names)):
        index = W.shard_index(url)
        if declared is not None and len(index["keys"]) != declared[s]:
            raise DatasetLayoutError(f"shard {name} holds {len(index['keys'])} samples but {declared_by} says "
                                     f"{declared[s]} (truncated? download it again)")
        for key, cls in zip(index["keys"], index["cls"]):
            if key in owner:
                raise DatasetLayoutError(f"key '{key}' is in shard {owner[key]} and in shard {name}: the shards "
                                         "overlap (a shard listed twice or copied under two names?)")
            owner[key] = name
            where = f"shard {name}, sample '{key}'"
            if not 0 <= cls < len(to_1k):
                raise DatasetLayoutError(f"{where}: .cls {cls} is outside the {len(to_1k)} classes this set numbers "
                                         f"({label_text})")
            label = to_1k[cls]
            if rule.keep(label, where):
                labels.append(label)
                rows.append(position)
            position += 1
        lengths.append(len(index["keys"]))
        types.update(index["types"])
    if total is not None and total != position:
        raise DatasetLayoutError(f"{_span(names)}: the shards hold {position} samples but {total_from} says {total}")
    if not labels:
        raise DatasetLayoutError(f"{_span(names)}: no samples" + (f" of the {rule.what} classes" if position else ""))
    re_encoded = "; ".join(RE_ENCODED[t] for t in sorted(types) if t in RE_ENCODED) or None
    return PublishedWdsSource(fmt, root, urls, names, lengths, to_1k, label_text, labels=labels,
                              rows=None if len(rows) == position else rows,
                              re_encoded=re_encoded if fmt == "webdataset-clip-benchmark" else None,
                              declared_by=declared_by)


# --- timm ---------------------------------------------------------------------------------------------
def timm_info_path(folder):
    """The timm info file of ``folder`` (one with ``splits``), or None."""
    for name in TIMM_INFO:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            info = _read_info(path)
            if isinstance(info.get("splits"), dict):
                return path
    return None


def _read_info(path):
    try:
        with open(path) as f:
            if path.endswith(".yaml"):
                import yaml

                data = yaml.safe_load(f)
            else:
                import json

                data = json.load(f)
    except Exception as e:  # JSON or YAML syntax: one line naming the file
        raise DatasetLayoutError(f"{path} does not parse ({str(e).splitlines()[0]})") from None
    return data if isinstance(data, dict) else {}


def timm_source(folder, split, to_1k, label_text, rule):
    """The split of a timm webdataset folder; shards are indexed only when the suite filters labels or
    the info gives no shard lengths."""
    path = timm_info_path(folder)
    info = _read_info(path)
    entry = info["splits"].get(split)
    if not isinstance(entry, dict):
        raise DatasetLayoutError(f"{path} has splits {', '.join(sorted(info['splits'])) or 'none'} but no '{split}' "
                                 "(expected splits.<name> with filenames and shard_lengths)")
    names = [n for f in entry.get("filenames") or [] for n in _expand(str(f))]
    if not names:
        raise DatasetLayoutError(f"{path}: splits.{split} lists no filenames")
    urls = [_resolve(n, folder) for n in names]
    for url, name in zip(urls, names):
        if not W.is_remote(url) and not os.path.isfile(url):
            raise DatasetLayoutError(f"{path} lists shard {name} but {url} is not there; download it")
    lengths = entry.get("shard_lengths")
    declared_by = f"{os.path.basename(path)} (splits.{split}.shard_lengths)"
    if lengths is not None and (len(lengths) != len(names) or not all(isinstance(n, int) and n >= 0 for n in lengths)):
        raise DatasetLayoutError(f"{path}: splits.{split}.shard_lengths has {len(lengths)} entries for {len(names)} "
                                 "filenames (expected one count per shard)")
    total = entry.get("num_samples")
    if lengths is not None and isinstance(total, int) and sum(lengths) != total:
        raise DatasetLayoutError(f"{path}: splits.{split}.shard_lengths sum to {sum(lengths)} but num_samples "
                                 f"is {total}")
    if lengths is None or rule.filters:
        return indexed("webdataset-timm", folder, urls, names, to_1k, label_text, rule,
                       total=total if isinstance(total, int) else None, total_from=f"{path} (num_samples)",
                       declared=lengths, declared_by=declared_by)
    return PublishedWdsSource("webdataset-timm", folder, urls, names, lengths, to_1k, label_text,
                              declared_by=declared_by)


# --- CLIP_benchmark -----------------------------------------------------------------------------------
def is_clip_benchmark(folder):
    return os.path.isfile(os.path.join(folder, "classnames.txt")) and any(
        os.path.isfile(os.path.join(folder, e.name, "nshards.txt")) for e in os.scandir(folder) if e.is_dir())


def clip_benchmark_source(folder, split, to_1k, label_text, rule):
    """The ``split`` of a CLIP_benchmark webdataset folder (always indexed: it publishes no lengths)."""
    nshards = os.path.join(folder, split, "nshards.txt")
    if not os.path.isfile(nshards):
        have = sorted(e.name for e in os.scandir(folder) if os.path.isfile(os.path.join(e.path, "nshards.txt")))
        raise DatasetLayoutError(f"{folder} is a CLIP_benchmark webdataset with split(s) {', '.join(have)} but no "
                                 f"'{split}' (expected {split}/nshards.txt and {split}/0.tar ...)")
    try:
        with open(nshards) as f:
            n = int(f.read().strip())
    except (OSError, ValueError):
        raise DatasetLayoutError(f"{nshards} does not hold a number of shards") from None
    with open(os.path.join(folder, "classnames.txt"), encoding="utf-8") as f:
        classnames = [line.strip() for line in f if line.strip()]
    if len(classnames) != len(to_1k):
        raise DatasetLayoutError(f"{folder}/classnames.txt has {len(classnames)} classes but this suite reads .cls as "
                                 f"{label_text}: {len(to_1k)} classes (the CLIP_benchmark set of another data set?)")
    names = [f"{split}/{i}.tar" for i in range(n)]
    missing = [m for m in names if not os.path.isfile(os.path.join(folder, m))]
    if missing:
        raise DatasetLayoutError(f"{nshards} says {n} shards but {os.path.join(folder, missing[0])} is not there "
                                 f"({len(missing)} missing); download them")
    return indexed("webdataset-clip-benchmark", folder, [os.path.join(folder, m) for m in names], names, to_1k,
                   label_text, rule)


# --- URL lists ----------------------------------------------------------------------------------------
def is_url_list(root):
    """True for a shard URL list rather than a folder: ``pipe:``/``file:`` URLs, braces, ``::``, ``|N``. A
    plain path to one .tar is not one: that is a released archive (e.g. imagenet-r.tar), read as such."""
    if root.startswith(("pipe:", "file:")) or "://" in root or "::" in root:
        return True
    spec, _, count = root.rpartition("|")
    return ("{" in root and ".." in root and "}" in root) or (bool(spec) and count.strip().isdigit())


def url_list_source(root, to_1k, label_text, rule):
    spec, total = root, None
    if "|" in root and root.rsplit("|", 1)[1].strip().isdigit():
        spec, total = root.rsplit("|", 1)[0], int(root.rsplit("|", 1)[1])
    names = [n for part in spec.split("::") for n in _expand(part.strip()) if n]
    urls = [_resolve(n, os.getcwd()) for n in names]
    for url in urls:
        if not W.is_remote(url) and not os.path.isfile(url):
            raise DatasetLayoutError(f"shard {url} of {root} is not there (expected tar shards such as "
                                     "x-{0000..0063}.tar, file:PATH or pipe:COMMAND)")
    return indexed("webdataset-urls", os.getcwd(), urls, names, to_1k, label_text, rule, total=total,
                   total_from=f"'|{total}' in {root}")


def _expand(pattern):
    from braceexpand import braceexpand

    return list(braceexpand(pattern))


def _resolve(name, folder):
    """A URL to read: remote URLs as they are, ``file:`` stripped, relative paths under ``folder``."""
    if W.is_remote(name):
        return name
    path = name[len("file:"):] if name.startswith("file:") else name
    return path if os.path.isabs(path) else os.path.join(folder, path)
