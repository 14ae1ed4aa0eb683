"""What a Hugging Face dataset on disk says about its columns, and how its labels become 1k indices.

A ``datasets`` dataset declares its columns as *features*: ``{"image": {"_type": "Image"}, "label":
{"_type": "ClassLabel", "names": [...]}}``. They are written three ways, all read here: in every
parquet or Arrow file's schema metadata (key ``huggingface``, JSON ``{"info": {"features": ...}}``), in
a cache folder's ``dataset_info.json`` (``"features"``), and in a hub snapshot's README.md YAML header
(``dataset_info.features``: a list of ``{name, dtype}``, a ClassLabel as ``dtype.class_label.names``,
a mapping from "0", "1", ... to names).

An integer label means nothing without its ClassLabel names, and the class order of a copy is never
assumed: names are mapped to wnids, then to robench's sorted-wnid index. Names that are wnids map
directly; names that are ImageNet's class descriptions ("tench, Tinca tinca", timm's
imagenet_synset_to_lemma.txt) map through that exact table, where one description is shared by two
classes ("crane": the bird n02012849 and the machine n03126707) and Hugging Face names the machine
"crane2" to keep names unique. A ``wnid`` column (``axiong/imagenet-r``) needs no names at all.
"""
import json
import os
import re

from robench.errors import DatasetLayoutError
from robench.labels import imagenet_descriptions, imagenet_wnids, wnid_to_index

WNID = re.compile(r"^n\d{8}$")
HF_RENAMED = {"crane2": "n03126707"}  # Hugging Face's unique name for the second "crane" (the machine)
LABEL_COLUMNS = ("label", "labels", "cls", "class")  # preferred ClassLabel columns, in order
WNID_COLUMNS = ("wnid", "synset")


def features_from_metadata(metadata):
    """Features from an Arrow schema's metadata (bytes keys), or None when it holds none."""
    raw = (metadata or {}).get(b"huggingface")
    if not raw:
        return None
    try:
        info = json.loads(raw)
    except ValueError:
        return None
    features = (info.get("info") or {}).get("features") if isinstance(info, dict) else None
    return features if isinstance(features, dict) else None


def features_from_dataset_info(path):
    """Features of a ``datasets`` cache folder's dataset_info.json (None when it has none)."""
    info = read_json(path)
    features = info.get("features")
    return features if isinstance(features, dict) else None


def read_json(path):
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise DatasetLayoutError(f"{path} is not readable JSON ({e})") from None
    if not isinstance(data, dict):
        raise DatasetLayoutError(f"{path} is not a JSON object (expected a datasets info file)")
    return data


def readme_header(path):
    """The YAML header of a hub snapshot's README.md as a dict ({} when there is none)."""
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return {}
    match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", text, re.S)
    if not match:
        return {}
    try:
        header = yaml.safe_load(match.group(1))
    except yaml.YAMLError as e:
        raise DatasetLayoutError(f"{path}: its YAML header does not parse ({str(e).splitlines()[0]})") from None
    return header if isinstance(header, dict) else {}


def readme_dataset_info(header, split):
    """The ``dataset_info`` entry of a README header for the config that has ``split`` (a header may list
    one per config); None when there is none."""
    infos = header.get("dataset_info")
    if isinstance(infos, dict):
        infos = [infos]
    if not isinstance(infos, list):
        return None
    infos = [i for i in infos if isinstance(i, dict)]
    with_split = [i for i in infos
                  if any(isinstance(s, dict) and s.get("name") == split for s in i.get("splits") or [])]
    chosen = with_split or [i for i in infos if i.get("config_name", "default") == "default"] or infos
    return chosen[0] if chosen else None


def features_from_readme(info):
    """README ``dataset_info.features`` (a list of {name, dtype}) in the dict form of the metadata."""
    out = {}
    for entry in (info or {}).get("features") or []:
        if not isinstance(entry, dict) or "name" not in entry:
            continue
        dtype = entry.get("dtype")
        if isinstance(dtype, dict) and "class_label" in dtype:
            names = (dtype["class_label"] or {}).get("names") or {}
            if isinstance(names, dict):
                names = [names[k] for k in sorted(names, key=lambda k: int(k))]
            out[entry["name"]] = {"_type": "ClassLabel", "names": [str(n) for n in names]}
        elif dtype == "image":
            out[entry["name"]] = {"_type": "Image"}
        else:
            out[entry["name"]] = {"_type": "Value", "dtype": dtype}
    return out or None


def image_column(features, columns, where):
    """The column holding the images: an Image feature, else a column named 'image' or 'img'."""
    declared = [name for name, f in (features or {}).items() if isinstance(f, dict) and f.get("_type") == "Image"
                and name in columns]
    for name in declared + [c for c in ("image", "img", "jpg") if c in columns]:
        return name
    raise DatasetLayoutError(f"{where} has no image column (expected an Image feature such as 'image' holding "
                             f"{{bytes, path}}; columns: {', '.join(columns)})")


class LabelReading:
    """How one dataset's label column becomes 1k indices: ``to_1k(values)`` maps a column's values
    (ints of a ClassLabel, or wnid strings); ``text`` says so in records."""

    def __init__(self, column, names=None):
        self.column, self.names = column, names
        self.index = None if names is None else names_to_1k(names[0], names[1])

    @property
    def text(self):
        if self.names is None:
            return f"column '{self.column}' (wnids)"
        kind = "wnids" if all(WNID.match(n) for n in self.names[0]) else "ImageNet class descriptions"
        return f"ClassLabel '{self.column}' ({len(self.names[0])} names: {kind}, mapped to wnids by name)"

    def to_1k(self, value, where):
        """The 1k index of one label value; ``where`` names the file and row in errors."""
        if self.index is None:
            index = wnid_to_index().get(str(value).strip())
            if index is None:
                raise DatasetLayoutError(f"{where}: '{value}' in column '{self.column}' is not an ImageNet-1k wnid "
                                         "(expected values like n01440764)")
            return index
        if value is None or not 0 <= int(value) < len(self.index):
            raise DatasetLayoutError(f"{where}: label {value} is not one of the {len(self.index)} classes of "
                                     f"ClassLabel '{self.column}' (-1 marks unlabelled rows: the test split?)")
        return self.index[int(value)]


def label_reading(features, columns, where):
    """The LabelReading of a dataset with ``features`` (may be None) and these ``columns``."""
    features = features or {}
    class_labels = [n for n, f in features.items() if isinstance(f, dict) and f.get("_type") == "ClassLabel"
                    and n in columns]
    ranked = sorted(class_labels, key=lambda n: LABEL_COLUMNS.index(n) if n in LABEL_COLUMNS else len(LABEL_COLUMNS))
    if ranked:
        column = ranked[0]
        return LabelReading(column, (list(features[column]["names"]), f"{where}: ClassLabel '{column}'"))
    for column in WNID_COLUMNS:
        if column in columns:
            return LabelReading(column)
    unnamed = [c for c in LABEL_COLUMNS if c in columns]
    if unnamed:
        raise DatasetLayoutError(
            f"{where}: column '{unnamed[0]}' has no ClassLabel names in the dataset's features (README.md "
            "dataset_info, dataset_info.json or the file's huggingface metadata); robench maps labels through "
            "the names and never assumes a class order")
    raise DatasetLayoutError(f"{where} has no label column (expected a ClassLabel column such as 'label' or a "
                             f"'wnid' column; columns: {', '.join(columns)})")


def names_to_1k(names, where):
    """1k index per ClassLabel position, from names that are wnids or ImageNet's class descriptions."""
    table = wnid_to_index()
    if all(WNID.match(n) for n in names):
        unknown = [n for n in names if n not in table]
        if unknown:
            raise DatasetLayoutError(f"{where}: '{unknown[0]}' is not an ImageNet-1k wnid")
        return tuple(table[n] for n in names)
    descriptions = imagenet_descriptions()
    if list(names) == [descriptions[w] for w in imagenet_wnids()]:
        return tuple(range(1000))  # every description in sorted-wnid order, shared ones included: checked
    by_description = description_table(names)
    missing = [n for n in names if n not in by_description]
    if missing:
        shared = sum(1 for w in descriptions.values() if w == missing[0]) > 1
        raise DatasetLayoutError(
            f"{where}: '{missing[0]}' names two ImageNet classes and nothing tells which one is meant "
            "(Hugging Face names the machine 'crane2')" if shared else
            f"{where}: names are neither ImageNet wnids nor ImageNet class descriptions (e.g. '{missing[0]}'; "
            "expected names like n01440764 or 'tench, Tinca tinca')")
    wnids = [by_description[n] for n in names]
    if len(set(wnids)) != len(wnids):
        raise DatasetLayoutError(f"{where}: two names map to the same ImageNet class; cannot tell them apart")
    return tuple(table[w] for w in wnids)


def description_table(names):
    """ImageNet class description -> wnid for the descriptions that name one class. A description shared
    by two classes ("crane") names the bird when Hugging Face's "crane2" (the machine) is among
    ``names``; otherwise it stays out of the table (ambiguous)."""
    descriptions = imagenet_descriptions()
    counts = {}
    for wnid, text in descriptions.items():
        counts.setdefault(text, []).append(wnid)
    table = {text: wnids[0] for text, wnids in counts.items() if len(wnids) == 1}
    for renamed, wnid in HF_RENAMED.items():
        if renamed in names:
            table[renamed] = wnid
            others = [w for w in counts[descriptions[wnid]] if w != wnid]
            if len(others) == 1:
                table[descriptions[wnid]] = others[0]
    return table


def split_of_file(name, split):
    """True when a data file's name or folder says it belongs to ``split`` (``validation-00000-of-00014``,
    ``imagenet-1k-validation.arrow``, ``validation/0000.parquet``)."""
    parts = name.replace(os.sep, "/").split("/")
    stem = re.sub(r"\.(parquet|arrow)$", "", parts[-1])
    if split in parts[:-1]:
        return True
    return re.search(rf"(^|[-_]){re.escape(split)}([-_]\d+(-of-\d+)?)?$", stem) is not None
