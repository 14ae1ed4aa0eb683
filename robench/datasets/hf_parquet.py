"""Hugging Face datasets on disk, read in place: parquet shards of a hub snapshot, or the Arrow files of
a ``datasets`` cache folder.

A snapshot (``huggingface-cli download ILSVRC/imagenet-1k --repo-type dataset``) holds
``data/validation-00000-of-00014.parquet`` ... and a README.md whose YAML header lists the features,
the splits' sizes and (``configs``) which files make each split. A ``datasets`` cache folder
(``~/.cache/huggingface/datasets/ILSVRC___imagenet-1k/default/0.0.0/<hash>/``) holds
``imagenet-1k-validation-00000-of-00014.arrow`` (Arrow IPC streams) and ``dataset_info.json``;
``Dataset.save_to_disk`` writes ``data-00000-of-00001.arrow`` with ``state.json``. Rows hold ``image``
({bytes, path}) and a label (``robench.datasets.hf_features``).

The samples are the split's rows in file order, read by parquet row group or Arrow record batch, so a
slice reads only the groups it overlaps; the image bytes go to the engine as they are stored and are
decoded once there. Labels are read at scan time (one small column): they give exact counts for
suites that keep only some classes, and a label that is not what the suite reads is an error then,
naming the file and row, not after an hour of evaluation. Files are opened lazily in each process
(DataLoader workers, torchrun ranks), so the source pickles as paths and numbers.
"""
import bisect
import glob
import hashlib
import os
import re

from robench.datasets import hf_features as F
from robench.datasets.base import Source, Unreadable
from robench.errors import DatasetLayoutError, RobenchError
from robench.labels import imagenet_wnids

SKIP_DIRS = (".git", ".cache", ".huggingface")
MAX_DEPTH = 5


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.ipc  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise RobenchError("reading Hugging Face parquet or Arrow files needs pyarrow: pip install pyarrow") from None
    return pyarrow


def data_files(folder):
    """{".parquet": [...], ".arrow": [...]}: relative paths of those files below ``folder``, sorted. Hidden
    and cache folders are skipped, and so are class folders (named by wnid): a folder layout's 50,000
    images are not walked."""
    out = {".parquet": [], ".arrow": []}
    base_depth = folder.rstrip(os.sep).count(os.sep)
    for here, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS and not F.WNID.match(d))
        if here.count(os.sep) - base_depth >= MAX_DEPTH:
            dirs[:] = []
        for f in files:
            ext = os.path.splitext(f)[1]
            if ext in out:
                out[ext].append(os.path.relpath(os.path.join(here, f), folder))
    return {ext: sorted(names, key=_natural) for ext, names in out.items()}


def _natural(name):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def find_split(folder, split):
    """A HFTableSource builder's inputs for ``split`` under ``folder``, or None when it holds no parquet
    or Arrow files at all (then it is some other layout)."""
    found = data_files(folder)
    if found[".parquet"]:
        return _parquet_split(folder, split, found[".parquet"])
    if found[".arrow"]:
        return _arrow_split(folder, split, found[".arrow"])
    return None


SPLIT_IN_NAME = re.compile(r"(?:^|[-_/])([A-Za-z]+)(?:[-_]\d+-of-\d+)?\.(?:parquet|arrow)$")


def _splits_named(files):
    """The split names that data files' names carry (``validation-00000-of-00014.parquet``: validation)."""
    found = {m.group(1) for m in (SPLIT_IN_NAME.search(f.replace(os.sep, "/")) for f in files) if m}
    return ", ".join(sorted(found)) or "none named"


def _parquet_split(folder, split, files):
    header = F.readme_header(os.path.join(folder, "README.md"))
    chosen = _configured_files(folder, header, split)
    if chosen is None:
        chosen = [f for f in files if F.split_of_file(f, split)]
    if not chosen:
        raise DatasetLayoutError(f"{folder} has parquet files of splits {_splits_named(files)} but none of split "
                                 f"'{split}' (expected e.g. data/{split}-00000-of-00001.parquet)")
    _check_numbered(folder, chosen)
    info = F.readme_dataset_info(header, split)
    expected = _split_size((info or {}).get("splits"), split)
    return {"format": "huggingface-parquet", "folder": folder, "files": chosen, "kind": "parquet",
            "readme_features": F.features_from_readme(info), "expected": expected,
            "expected_from": os.path.join(folder, "README.md")}


def _configured_files(folder, header, split):
    """The files a README's ``configs`` assigns to ``split`` (globs relative to the folder), or None."""
    configs = header.get("configs")
    if not isinstance(configs, list):
        return None
    for config in configs:
        if not isinstance(config, dict) or config.get("config_name", "default") != "default":
            continue
        for entry in config.get("data_files") or []:
            if isinstance(entry, dict) and entry.get("split") == split:
                patterns = entry.get("path")
                patterns = [patterns] if isinstance(patterns, str) else list(patterns or [])
                found = {os.path.relpath(p, folder) for pattern in patterns
                         for p in glob.glob(os.path.join(folder, pattern)) if os.path.isfile(p)}
                return sorted(found, key=_natural)
    return None


def _check_numbered(folder, files):
    """Files named ``...-00003-of-00014``: every number below 14 must be there, once."""
    numbered = [re.search(r"-(\d+)-of-(\d+)\.", os.path.basename(f)) for f in files]
    if not numbered or not all(numbered):
        return
    folders = sorted({os.path.dirname(f) or "." for f in files})
    if len(folders) > 1:  # several downloads below one root: which one is meant?
        listed = ", ".join(os.path.join(folder, d) for d in folders[:3]) + (" ..." if len(folders) > 3 else "")
        raise DatasetLayoutError(f"{folder} holds the split's files in {len(folders)} folders ({listed}); "
                                 "point --root at one download")
    totals = {int(m.group(2)) for m in numbered}
    have = {int(m.group(1)) for m in numbered}
    total = max(totals)
    if len(totals) == 1 and have == set(range(total)) and len(files) == total:
        return
    missing = sorted(set(range(total)) - have)
    example = re.sub(r"-\d+-of-", f"-{missing[0]:05d}-of-", files[0]) if missing else files[0]
    raise DatasetLayoutError(f"{folder}: the split's files say there are {total} of them but {len(have)} are here "
                             f"(missing e.g. {example}); download the missing files")


def _split_size(splits, split):
    """num_examples of ``split`` from a README's or dataset_info.json's splits (a list or a dict)."""
    if isinstance(splits, dict):
        splits = [dict(v, name=k) for k, v in splits.items() if isinstance(v, dict)]
    for s in splits or []:
        if isinstance(s, dict) and s.get("name") == split and isinstance(s.get("num_examples"), int):
            return s["num_examples"]
    return None


def _arrow_split(folder, split, files):
    """A datasets cache folder: the one folder with a dataset_info.json whose Arrow files hold ``split``."""
    by_dir = {}
    for f in files:
        by_dir.setdefault(os.path.dirname(f), []).append(f)
    candidates = []
    for d, names in by_dir.items():
        here = os.path.join(folder, d)
        state = os.path.join(here, "state.json")
        if os.path.isfile(state):  # Dataset.save_to_disk
            saved = F.read_json(state)
            if saved.get("_split") not in (None, split):
                continue
            chosen = [os.path.join(d, e["filename"]) for e in saved.get("_data_files") or [] if "filename" in e]
        else:
            chosen = [n for n in names if F.split_of_file(n, split)]
        if chosen:
            candidates.append((d, chosen))
    if not candidates:
        raise DatasetLayoutError(f"{folder} has Arrow files of splits {_splits_named(files)} but none of split "
                                 f"'{split}' (expected a datasets cache folder with <name>-{split}.arrow and "
                                 "dataset_info.json)")
    if len(candidates) > 1:
        raise DatasetLayoutError(f"{folder} holds split '{split}' in {len(candidates)} cache folders "
                                 f"({', '.join(d or '.' for d, _ in candidates[:3])}); pass --root one of them")
    d, chosen = candidates[0]
    here = os.path.join(folder, d)  # the cache folder itself: records name its files relative to it
    chosen = [os.path.relpath(os.path.join(folder, c), here) for c in chosen]
    info_path = os.path.join(here, "dataset_info.json")
    info = F.read_json(info_path) if os.path.isfile(info_path) else {}
    _check_numbered(here, chosen)
    return {"format": "huggingface-arrow", "folder": here, "files": chosen, "kind": "arrow",
            "readme_features": info.get("features") if isinstance(info.get("features"), dict) else None,
            "expected": _split_size(info.get("splits"), split), "expected_from": info_path}


# --- opening files --------------------------------------------------------------------------------
def open_chunks(path, kind):
    """(schema, [rows per chunk], reader) of a parquet file (chunks: row groups) or an Arrow IPC file
    (chunks: record batches); a damaged file is a DatasetLayoutError naming it."""
    pa = _pyarrow()
    try:
        if kind == "parquet":
            handle = pa.parquet.ParquetFile(path)
            meta = handle.metadata
            return handle.schema_arrow, [meta.row_group(i).num_rows for i in range(meta.num_row_groups)], handle
        batches = _arrow_batches(pa, path)
        return (batches[0].schema if batches else None), [b.num_rows for b in batches], batches
    except (OSError, pa.ArrowException) as e:
        raise DatasetLayoutError(f"{path} is not a readable {kind} file ({str(e).splitlines()[0]}); "
                                 "damaged or truncated? download it again") from None


def _arrow_batches(pa, path):
    """Record batches of an Arrow IPC stream (what ``datasets`` writes) or file, memory-mapped: no copy."""
    source = pa.memory_map(path, "r")
    try:
        return list(pa.ipc.open_stream(source))
    except pa.ArrowInvalid:
        reader = pa.ipc.open_file(pa.memory_map(path, "r"))
        return [reader.get_batch(i) for i in range(reader.num_record_batches)]


def read_column(handle, kind, index, column):
    """One column of one chunk as a pyarrow array."""
    if kind == "parquet":
        return handle.read_row_group(index, columns=[column]).column(column)
    return handle[index].column(column)


# --- the source -----------------------------------------------------------------------------------
class HFTableSource(Source):
    """The rows of a split (all, or the ``rows`` a suite keeps), read chunk by chunk."""

    def __init__(self, folder, fmt, files, kind, chunks, image_column, labels, rows, label_text, stats):
        self.folder, self.format, self.files, self.kind = folder, fmt, files, kind
        self.chunks = chunks  # (file index, chunk index, rows) in order
        self.offsets = [0]
        for _, _, n in chunks:
            self.offsets.append(self.offsets[-1] + n)
        self.image_column, self.labels, self.rows = image_column, labels, rows
        self.label_text, self.stats = label_text, stats
        self._open = {}

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_open"] = {}  # file handles and memory maps are per process
        return state

    def __len__(self):
        return len(self.labels)

    def describe(self):
        return {"format": self.format, "files": list(self.files), "labels": self.label_text}

    def fingerprint(self):
        h = hashlib.sha256(f"{self.format}\t{self.label_text}\n".encode())
        for name, stat, n_rows in zip(self.files, self.stats, self._rows_per_file()):
            h.update(f"{name}\t{' '.join(map(str, stat))}\t{n_rows}\n".encode())
        h.update(repr(self.labels).encode())
        h.update(repr(self.rows).encode())
        return h.hexdigest()[:16]

    def _rows_per_file(self):
        counts = [0] * len(self.files)
        for f, _, n in self.chunks:
            counts[f] += n
        return counts

    def locate(self, key):
        return f"{key} (a row of the {self.format} files under {self.folder})"

    def _handle(self, file_index):
        if file_index not in self._open:
            path = os.path.join(self.folder, self.files[file_index])
            self._open[file_index] = open_chunks(path, self.kind)[2]
        return self._open[file_index]

    def iter_range(self, start, stop):
        stop = min(stop, len(self))
        loaded, images = None, None
        for position in range(start, stop):
            row = position if self.rows is None else self.rows[position]
            c = bisect.bisect_right(self.offsets, row) - 1
            if c != loaded:
                file_index, chunk_index, _ = self.chunks[c]
                images = read_column(self._handle(file_index), self.kind, chunk_index, self.image_column)
                loaded = c
            yield self._sample(images[row - self.offsets[c]].as_py(), row, self.labels[position], c)

    def _sample(self, image, row, label, chunk):
        file_name = self.files[self.chunks[chunk][0]]
        path, data = (image.get("path"), image.get("bytes")) if isinstance(image, dict) else (None, image)
        name = os.path.basename(path) if path else f"{_stem(file_name)}-{row:06d}.{_extension(data)}"
        key = f"{imagenet_wnids()[label]}/{name}"
        if data is None:
            data = _read_local(path) or Unreadable(f"a row of {file_name} has no image bytes"
                                                   + (f" and {path} is not a readable file" if path else ""))
        return key, data, label


def _stem(name):
    return os.path.splitext(os.path.basename(name))[0]


def _extension(data):
    """A file extension for image bytes stored without a file name (from their magic number)."""
    data = data or b""
    if data[:3] == b"\xff\xd8\xff":
        return "jpg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return "bin"


def _read_local(path):
    """The bytes of an image a datasets cache stores by absolute path only (None when there is none)."""
    if path and os.path.isabs(path) and os.path.isfile(path):
        with open(path, "rb") as f:
            return f.read()
    return None


def build_source(found, rule):
    """The HFTableSource of a ``find_split`` result; ``rule`` (hosted.SubsetRule) keeps or refuses labels."""
    folder, kind, files = found["folder"], found["kind"], found["files"]
    chunks, stats, labels, rows = [], [], [], []
    reading = image = None
    global_row = 0
    for file_index, name in enumerate(files):
        path = os.path.join(folder, name)
        schema, sizes, handle = open_chunks(path, kind)
        st = os.stat(path)
        stats.append((st.st_size, st.st_mtime_ns))
        if schema is None:  # an Arrow file with no batches: no rows
            continue
        columns = list(schema.names)
        features = F.features_from_metadata(schema.metadata) or found["readme_features"]
        if reading is None:
            image = F.image_column(features, columns, path)
            reading = F.label_reading(features, columns, path)
        elif reading.column not in columns or image not in columns:
            raise DatasetLayoutError(f"{path} lacks column '{reading.column}' or '{image}' that {files[0]} has "
                                     "(files of two datasets mixed?)")
        file_start = global_row
        for chunk_index, n in enumerate(sizes):
            values = read_column(handle, kind, chunk_index, reading.column).to_pylist()
            for offset, value in enumerate(values):
                where = f"{path} (row {global_row + offset - file_start})"
                label = reading.to_1k(value, where)
                if rule.keep(label, where):
                    labels.append(label)
                    rows.append(global_row + offset)
            chunks.append((file_index, chunk_index, n))
            global_row += n
    _check_size(found, global_row)
    if reading is None or not labels:
        raise DatasetLayoutError(f"{folder}: the {found['format']} files of this split hold no rows"
                                 + (f" of the {rule.what} classes" if global_row else ""))
    keep_all = len(rows) == global_row
    return HFTableSource(folder, found["format"], files, kind, chunks, image, labels,
                         None if keep_all else rows, reading.text, stats)


def _check_size(found, total):
    if found["expected"] is not None and found["expected"] != total:
        raise DatasetLayoutError(f"{found['folder']}: the split's files hold {total} rows but {found['expected_from']} "
                                 f"says {found['expected']} (a file missing or truncated?)")
