"""Where robench keeps what it can rebuild but would rather not: zero-shot heads, archive member indexes,
webdataset shard indexes. One folder per kind under ``$ROBENCH_CACHE_DIR`` (default ``~/.cache/robench``);
``ROBENCH_CACHE_DIR=off`` (or 0, none, false) turns every cache off. Each cache keys its entries by what
decides them, so a stale entry is never read; deleting the folder only costs the next run the rebuild."""
import os

OFF = ("off", "0", "none", "false")


def cache_folder(kind):
    """``$ROBENCH_CACHE_DIR/<kind>`` (default ``~/.cache/robench/<kind>``), or None when caching is off."""
    root = os.environ.get("ROBENCH_CACHE_DIR")
    if root is not None and root.strip().lower() in OFF:
        return None
    root = root or os.path.join(os.path.expanduser("~"), ".cache", "robench")
    return os.path.join(root, kind)


def cached_index(kind, identity, version, build, valid):
    """A JSON-able index (a dict) kept in ``cache_folder(kind)``, keyed by ``identity`` (e.g. a file's
    absolute path, size and mtime) and ``version``: read back when it is there, says that identity and
    passes ``valid(index)``, else ``build()`` and stored. A read-only or full cache only costs the next
    caller another build; a damaged or foreign entry is rebuilt, never trusted."""
    import hashlib
    import json

    folder = cache_folder(kind)
    path = None
    if folder is not None:
        digest = hashlib.sha256(json.dumps([version, identity]).encode()).hexdigest()
        path = os.path.join(folder, f"{digest}.json")
        try:
            with open(path) as f:
                index = json.load(f)
            if (isinstance(index, dict) and index.get("version") == version and index.get("identity") == identity
                    and valid(index)):
                return index
        except (OSError, ValueError):
            pass
    index = {"version": version, "identity": identity, **build()}
    if path is not None:
        from robench.fileio import OutputError, atomic_write_json

        try:
            atomic_write_json(path, index)
        except (OSError, OutputError):
            pass
    return index
