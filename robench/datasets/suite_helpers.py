"""Pieces several suites share: finding a data folder under a root, subset labels, reading a
companion record (the same model's clean ImageNet numbers) and describing the no-resize protocol."""
import os

from robench.datasets.base import FolderSource
from robench.errors import DatasetLayoutError, RobenchError
from robench.labels import label_of, subset_indices, wnid_to_index

GENERATED_MARKER = "robench-generated.json"  # written at the root of data made by robench, not released


def find_data_dir(root, names):
    """``root`` itself, or ``root/<name>`` for the first of ``names`` that exists: users point at
    either the data folder or the folder that holds it (e.g. ``/data`` or ``/data/imagenet-r``)."""
    for name in names:
        candidate = os.path.join(root, name)
        if os.path.isdir(candidate):
            return candidate
    return root


def subset_label_for(subset, suite_name):
    """A ``label_for`` that accepts only the wnids of a 200-class subset (R or A)."""
    allowed = set(subset_indices(subset))

    def label_for(wnid, where):
        label = label_of(wnid, where)
        if label not in allowed:
            raise DatasetLayoutError(f"{where}: {wnid} is not one of the 200 {suite_name} classes "
                                     f"(timm's {subset}_synsets.txt); is this the right data set?")
        return label

    return label_for


def scan_subset_folders(directory, subset, what):
    """``directory/<wnid>/*`` restricted to the wnids of ``subset``; other class folders are ignored."""
    if not os.path.isdir(directory):
        raise DatasetLayoutError(f"{directory} does not exist or is not a directory (expected {what})")
    allowed = set(subset_indices(subset))
    table = wnid_to_index()
    classes = sorted(e.name for e in os.scandir(directory) if e.is_dir() and table.get(e.name) in allowed)
    entries = []
    for wnid in classes:
        files = sorted(e.name for e in os.scandir(os.path.join(directory, wnid))
                       if e.is_file() and not e.name.startswith("."))
        entries.extend((f"{wnid}/{f}", table[wnid]) for f in files)
    if not entries:
        raise DatasetLayoutError(f"{directory} has no images in the class folders of the {subset} subset "
                                 f"(expected {what})")
    return FolderSource(directory, entries)


def classes_found(source):
    """Distinct labels of a folder source (None for shard sources, which would have to be read)."""
    entries = getattr(source, "entries", None)
    return None if entries is None else len({label for _, label in entries})


def companion_record(context, suite_name):
    """(record, note): this model's record of ``suite_name`` in the same output directory.

    The record is None (and the note says why) when it does not exist yet, is a partial job-array
    record, or was made with another model or preprocessing: a number from it would be wrong.
    """
    from robench.results import read_record, record_path

    context = context or {}
    if not context.get("out_dir") or not context.get("model_name"):
        return None, "no output directory to look in"
    path = record_path(context["out_dir"], context["model_name"], suite_name)
    if not os.path.isfile(path):
        return None, (f"no {suite_name} record at {path}: evaluate this model with --suite {suite_name} "
                      "into the same --out, then rerun this suite (finished cells are reused)")
    try:
        record = read_record(path)
    except RobenchError as e:
        return None, str(e)
    model = context.get("model") or {}
    for key in ("spec", "weights", "checkpoint_sha256", "data_config"):
        if key in model and record["model"].get(key) != model[key]:
            return None, f"{path} was made with another model {key} ({record['model'].get(key)!r})"
    if not record["variants"] or any(v.get("n_seen", 0) == 0 for v in record["variants"]):
        return None, f"{path} has no evaluated images"
    return record, None


def top1_fraction(entry):
    """Top-1 accuracy of a record variant as an exact fraction of its state (None if empty)."""
    state = entry.get("state") or {}
    n = state.get("n") or 0
    return state["correct1"] / n if n else None


def as_stored_preprocessing(context, stored_size=224):
    """The record's account of the no-resize protocol (ImageNet-C, Stylized-ImageNet).

    Images are fed without a crop; a model whose input size is not the stored size sees them
    resized to its input size, which is not the benchmark protocol, so the record says so.
    """
    config = ((context or {}).get("model") or {}).get("data_config") or {}
    size = config.get("input_size")
    size = list(size[-2:]) if size else None
    resized = None if size is None else size != [stored_size, stored_size]
    note = f"images are {stored_size}x{stored_size} and used without crop"
    if resized:
        note += f"; this model's input size is {size[0]}x{size[1]}, so they were resized (not the benchmark protocol)"
    elif resized is False:
        note += " or resize, as the benchmark prescribes"
    return {"crop": False, "stored_size": stored_size, "model_input_size": size, "resized": resized,
            "note": note}
