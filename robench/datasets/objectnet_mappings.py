"""ObjectNet's own mapping files (``objectnet-1.0/mappings/``) read into the label sets robench scores with.

The four files, as ObjectNet 1.0 ships them (and imagenet-testbed's ``objectnet.py`` and
CLIP_benchmark read them):

- ``folder_to_objectnet_label.json``: {image folder: ObjectNet class name}, all 313 classes;
- ``objectnet_to_imagenet_1k.json``: {ObjectNet class name: ImageNet class names joined by ``"; "``},
  only the 113 classes that overlap ImageNet-1k;
- ``imagenet_to_label_2012_v2``: text, line i is the name of ImageNet 2012 class id i;
- ``pytorch_to_imagenet_2012_id.json``: {PyTorch class index: ImageNet 2012 class id}. PyTorch's index
  (torchvision's and timm's) is robench's 1k label (sorted wnids).

So a folder's set is: folder -> ObjectNet name -> ImageNet names -> 2012 ids (line numbers) -> PyTorch
indices. Anything that does not resolve (a name not in the label file, a name on two of its lines, an
id no PyTorch index maps to) is one line naming the file, never a guess.
"""
import hashlib
import json

from robench.errors import DatasetLayoutError

FOLDER_TO_LABEL = "folder_to_objectnet_label.json"
TO_IMAGENET = "objectnet_to_imagenet_1k.json"
PYTORCH_TO_ID = "pytorch_to_imagenet_2012_id.json"
IMAGENET_LABELS = "imagenet_to_label_2012_v2"
FILES = (FOLDER_TO_LABEL, TO_IMAGENET, PYTORCH_TO_ID, IMAGENET_LABELS)


class Mapping:
    """The mapping files resolved: ``sets`` ({folder: [1k indices]} of the overlapping classes), ``names``
    ({folder: ObjectNet class name}, all classes) and ``digest`` (sha256 of the four files' bytes)."""

    def __init__(self, sets, names, digest):
        self.sets, self.names, self.digest = sets, names, digest


def read_mapping(tree, where):
    """The Mapping of the ``mappings/`` folder of ``tree`` (a robench Tree); ``where`` names it in errors."""
    raw = {}
    for name in FILES:
        try:
            raw[name] = tree.read(name)
        except OSError:
            raise DatasetLayoutError(f"{where}: mapping file {name} is missing (ObjectNet's mappings/ holds "
                                     f"{', '.join(FILES)})") from None
    folder_to_label = _json(raw, FOLDER_TO_LABEL, where)
    to_imagenet = _json(raw, TO_IMAGENET, where)
    pytorch_to_id = _json(raw, PYTORCH_TO_ID, where)
    for name, table in ((FOLDER_TO_LABEL, folder_to_label), (TO_IMAGENET, to_imagenet)):
        if not isinstance(table, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in table.items()):
            raise DatasetLayoutError(f"{where}/{name} is not a JSON object of names to names")
    line_of = _label_lines(raw[IMAGENET_LABELS], f"{where}/{IMAGENET_LABELS}")
    index_of_id = _pytorch_indices(pytorch_to_id, f"{where}/{PYTORCH_TO_ID}")
    folder_of = {}
    for folder, label in folder_to_label.items():
        folder_of.setdefault(label, folder)
    sets = {}
    for label, imagenet_names in to_imagenet.items():
        folder = folder_of.get(label)
        if folder is None:
            raise DatasetLayoutError(f"{where}/{TO_IMAGENET} maps ObjectNet class {label!r}, which "
                                     f"{FOLDER_TO_LABEL} gives no folder")
        indices = []
        for imagenet_name in imagenet_names.split("; "):
            line = line_of.get(imagenet_name.strip())
            if line is None:
                raise DatasetLayoutError(f"{where}/{TO_IMAGENET}: ImageNet class {imagenet_name!r} (of {label!r}) "
                                         f"is not a line of {IMAGENET_LABELS}")
            if line == "ambiguous":
                raise DatasetLayoutError(f"{where}/{TO_IMAGENET}: ImageNet class {imagenet_name!r} (of {label!r}) "
                                         f"is on more than one line of {IMAGENET_LABELS}")
            if line not in index_of_id:
                raise DatasetLayoutError(f"{where}/{PYTORCH_TO_ID} maps no PyTorch index to ImageNet id {line} "
                                         f"({imagenet_name!r})")
            indices.append(index_of_id[line])
        sets[folder] = sorted(set(indices))
    if not sets:
        raise DatasetLayoutError(f"{where}/{TO_IMAGENET} maps no ObjectNet class to ImageNet")
    digest = hashlib.sha256(b"".join(hashlib.sha256(raw[n]).digest() for n in FILES)).hexdigest()
    return Mapping(sets, dict(folder_to_label), digest)


def _json(raw, name, where):
    try:
        return json.loads(raw[name].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise DatasetLayoutError(f"{where}/{name} is not readable JSON ({e})") from None


def _label_lines(data, where):
    """{stripped line: line number, or "ambiguous" for a name on two lines} of the ImageNet label file."""
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise DatasetLayoutError(f"{where} is not UTF-8 text ({e})") from None
    out = {}
    for number, line in enumerate(lines):
        name = line.strip()
        out[name] = "ambiguous" if name in out else number
    return out


def _pytorch_indices(table, where):
    """{ImageNet 2012 id: PyTorch index} from {PyTorch index: id}; 1000 distinct indices 0..999."""
    try:
        pairs = {int(k): int(v) for k, v in table.items()}
    except (AttributeError, TypeError, ValueError):
        raise DatasetLayoutError(f"{where} is not a JSON object of PyTorch class indices to ImageNet ids") from None
    if sorted(pairs) != list(range(1000)) or len(set(pairs.values())) != 1000:
        raise DatasetLayoutError(f"{where} does not map the 1000 PyTorch class indices 0..999 to 1000 distinct ids")
    return {v: k for k, v in pairs.items()}
