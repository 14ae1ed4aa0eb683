"""Finding a Hugging Face hub dataset on this disk from its id, never over the network.

``--root hf:ILSVRC/imagenet-1k`` (or the bare id, for ids a suite declares) is looked up where the
Hugging Face tools keep downloads: the hub cache (``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else
``~/.cache/huggingface/hub``: ``datasets--<owner>--<name>/snapshots/<revision>/``, the revision that
``refs/main`` names) and the ``datasets`` cache (``$HF_DATASETS_CACHE``, else ``$HF_HOME/datasets``:
``<owner>___<name>/<config>/<version>/<hash>/`` with ``dataset_info.json`` and ``.arrow`` files). A
data set found in neither is one line saying where robench looked and what to download.
"""
import os
import re

from robench.errors import DatasetLayoutError

PREFIXES = ("hf://datasets/", "hf:")
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")


def hub_id_of(root, known_ids=()):
    """The hub id ``root`` names (``hf:ID``, or a bare id among ``known_ids``), None when it is a path."""
    for prefix in PREFIXES:
        if root.startswith(prefix):
            return root[len(prefix):].strip("/")
    if not os.path.exists(root) and root in known_ids and HUB_ID.match(root):
        return root
    return None


def _home():
    return os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface")


def hub_cache():
    return os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE") or os.path.join(_home(), "hub")


def datasets_cache():
    return os.environ.get("HF_DATASETS_CACHE") or os.path.join(_home(), "datasets")


def hub_snapshot(hub_id):
    """The snapshot folder of ``hub_id`` in the hub cache (refs/main's revision, else the newest), or None."""
    repo = os.path.join(hub_cache(), "datasets--" + hub_id.replace("/", "--"))
    snapshots = os.path.join(repo, "snapshots")
    if not os.path.isdir(snapshots):
        return None
    try:
        with open(os.path.join(repo, "refs", "main")) as f:
            revision = f.read().strip()
        if os.path.isdir(os.path.join(snapshots, revision)):
            return os.path.join(snapshots, revision)
    except OSError:
        pass
    found = sorted((os.path.getmtime(e.path), e.path) for e in os.scandir(snapshots) if e.is_dir())
    return found[-1][1] if found else None


def datasets_cache_dirs(hub_id):
    """Folders of ``hub_id`` in the datasets cache that exist (``owner___name``, and older ``name``)."""
    names = [hub_id.replace("/", "___"), hub_id.split("/")[-1]]
    return [os.path.join(datasets_cache(), n) for n in dict.fromkeys(names)
            if os.path.isdir(os.path.join(datasets_cache(), n))]


def find_on_disk(hub_id, download_hint):
    """The folder holding ``hub_id`` (a hub snapshot, else a datasets-cache folder); a DatasetLayoutError
    naming both places looked in and ``download_hint`` (what to run) when it is in neither."""
    snapshot = hub_snapshot(hub_id)
    if snapshot is not None:
        return snapshot
    cached = datasets_cache_dirs(hub_id)
    if cached:
        return cached[0]
    hub = os.path.join(hub_cache(), "datasets--" + hub_id.replace("/", "--"))
    cache = os.path.join(datasets_cache(), hub_id.replace("/", "___"))
    raise DatasetLayoutError(f"{hub_id} is not on this disk (looked in {hub} and {cache}: HF_HUB_CACHE/HF_HOME, "
                             f"HF_DATASETS_CACHE); robench never downloads: {download_hint}")


def download_hint(hub_id, include=()):
    """The command that puts ``hub_id`` (only the ``include`` patterns) where --root can read it."""
    only = "".join(f" --include '{pattern}'" for pattern in include)
    return (f"run huggingface-cli download {hub_id} --repo-type dataset{only} --local-dir DIR "
            f"and pass --root DIR")
