"""The check's results as JSON: ``OUT/device_check.json``, under the folder the user names."""
import json
import os

from .throughput import TARGETS

FILENAME = "device_check.json"


def result(check, machine, text):
    return {"mode": check.mode, "machine": machine, "seconds": round(check.elapsed(), 1), "ok": check.ok,
            "targets": dict(TARGETS), "checks": check.checks, "throughput": check.throughput, "table": text}


def write(folder, data):
    """Writes ``data`` to ``folder/device_check.json`` (the folder made if missing); returns the path."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, FILENAME)
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
    return path
