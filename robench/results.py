"""Result records: one JSON per (model, suite), written atomically, numbers stored as numbers.

Schema (``SCHEMA_VERSION``): schema_version, robench_version, created, model{spec, name, params,
weights, checkpoint_sha256, data_config}, suite{name, version, root, fingerprint, label_subset,
protocol}, run{device, precision, world_size, batch_size, shard}, protocol_hash,
variants[{name, info..., n_expected, n_seen, metrics{top1, top5, error, nll, ece}, state, skipped}],
aggregates{...}, env{python, torch, timm, robench}. Accuracies and errors are percent (0-100).
"""
import hashlib
import json
import os
import platform
import tempfile
from datetime import datetime, timezone

from robench import __version__
from robench.errors import RecordError

SCHEMA_VERSION = 1


def atomic_write(path, write, binary=False, suffix=".tmp"):
    """Calls ``write(file)`` on a temp file beside ``path`` then renames it over ``path``, so that
    ``path`` is always either the old file or the whole new one, even after a kill or a crash."""
    path = os.fspath(path)
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=directory)
    try:
        with os.fdopen(fd, "wb" if binary else "w") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes files private; outputs are shared like any other file
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_json(path, obj):
    """Writes ``obj`` as JSON atomically; NaN and infinity are refused, never written."""

    def write(f):
        json.dump(obj, f, indent=1, sort_keys=False, allow_nan=False)
        f.write("\n")

    atomic_write(path, write, suffix=".json")


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise RecordError(f"{path}: not a readable JSON record ({e})") from None


def read_record(path):
    """A record from disk, checked for the fields every consumer relies on."""
    record = read_json(path)
    if not isinstance(record, dict) or record.get("schema_version") != SCHEMA_VERSION:
        found = record.get("schema_version") if isinstance(record, dict) else None
        raise RecordError(f"{path}: unknown schema_version {found!r} (this robench reads {SCHEMA_VERSION})")
    for key in ("model", "suite", "variants"):
        if key not in record:
            raise RecordError(f"{path}: record has no '{key}'")
    return record


def record_path(out_dir, model_name, suite_name, shard=None):
    """``OUT/<model>/<suite>.json``; a job-array shard i/N writes ``<suite>.shard-i-of-N.json``."""
    stem = suite_name if shard is None else f"{suite_name}.shard-{shard[0]}-of-{shard[1]}"
    return os.path.join(os.fspath(out_dir), model_name, f"{stem}.json")


def stable_hash(obj, length=16):
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:length]


def environment():
    import timm
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__, "timm": timm.__version__,
            "robench": __version__}


def new_record(model_info, suite_info, run_info, protocol_hash, variants, aggregates):
    return {
        "schema_version": SCHEMA_VERSION,
        "robench_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": model_info,
        "suite": suite_info,
        "run": run_info,
        "protocol_hash": protocol_hash,
        "variants": variants,
        "aggregates": aggregates,
        "env": environment(),
    }
