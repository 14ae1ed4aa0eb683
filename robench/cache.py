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
