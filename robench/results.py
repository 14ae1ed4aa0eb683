"""Result records: one JSON per (model, suite), the one schema every writer and reader goes through.

``Record`` is the schema in code (``SCHEMA_VERSION`` 3); the engine writes it, ``robench merge`` sums
task records (``--task i/N``), the leaderboard and reports read it. ``Record.from_json`` validates
what it reads (a malformed or inconsistent record is a RecordError naming the file and the field) and
upgrades version-1 and version-2 records. Accuracies and errors are percent (0-100); numbers are
stored as numbers. ``docs/records.md`` describes every field.

Version 3 gave two words one meaning each: the identity of a measurement (model, weights, data
options; what slice results are matched by) is ``measurement_id`` (it was ``protocol_hash``, while
"protocol" also meant the benchmark's rules a record departs from), and the model's
``checkpoint_sha256``, a file hash for some sources and a state-dict hash for others, is
``weights_sha256`` (the sha256 of a weights file's bytes) or ``state_dict_sha256`` (of its tensors:
in-memory models and robench training checkpoints).

The optional ``intervals`` section (each value's interval, its method and level) has its own
version inside it (``robench.stats.record_intervals``): a record without it is read as it is, and
readers compute its count-based part on demand (``intervals_of``), so no schema version was needed.

Version 2 renamed the job-array task (``run.shard`` is ``run.task``: "shard" now means a tar shard
only) and the per-variant counts that lied: ``n_expected`` (the images of this record's
data, which for a job-array task is its slice) is ``n_images``; ``n_reference`` (the released data
set's size) is ``n_official``. Values that need a second record (relative mCE, clean-subset top-1)
are no longer stored: they are joined at report time (``robench.joins``).
"""
import hashlib
import json
import math
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from numbers import Real
from typing import List, Optional

from robench import __version__
from robench.errors import RecordError
from robench.fileio import atomic_write, atomic_write_json  # noqa: F401  (re-exported: older imports)

SCHEMA_VERSION = 3
_VARIANT_FIELDS = ("name", "n_images", "n_official", "n_seen", "metrics", "state", "skipped", "note")
_PERCENT = ("top1", "top5", "error")


@dataclass
class VariantResult:
    """One variant of a record (e.g. imagenet-c/fog/3)."""

    name: str
    n_images: int  # images of this record's data: the variant found, or a job-array task's slice of it
    n_official: Optional[int]  # images of the released variant (None: not known)
    n_seen: int  # images scored: n_images minus the skipped ones
    metrics: dict  # value name -> number or None, from the run's metric set
    state: dict  # the additive metric state the metrics were computed from (merging sums these)
    skipped: list = field(default_factory=list)  # [key, reason] of files that could not be decoded
    info: dict = field(default_factory=dict)  # suite-specific: corruption, severity, group, image_size...
    note: Optional[str] = None

    def to_json(self):
        out = {"name": self.name, **self.info, "n_images": self.n_images, "n_official": self.n_official,
               "n_seen": self.n_seen, "metrics": self.metrics, "state": self.state, "skipped": self.skipped}
        if self.note:
            out["note"] = self.note
        return out

    @classmethod
    def from_json(cls, data, where):
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise RecordError(f"{where}: a variant is not an object with a name")
        name = data["name"]
        for key in ("n_images", "n_seen"):
            if not _is_int(data.get(key)) or data[key] < 0:
                raise RecordError(f"{where}: variant {name!r}: {key} must be a non-negative integer")
        if data.get("n_official") is not None and not _is_int(data["n_official"]):
            raise RecordError(f"{where}: variant {name!r}: n_official must be an integer or null")
        metrics = data.get("metrics")
        if not isinstance(metrics, dict) or not all(v is None or _is_number(v) for v in metrics.values()):
            raise RecordError(f"{where}: variant {name!r}: metrics must be numbers (records store numbers as numbers)")
        bad = [k for k, v in metrics.items() if v is not None and (not math.isfinite(v) or v < 0
                                                                  or (k in _PERCENT and v > 100))]
        if bad:
            raise RecordError(f"{where}: variant {name!r}: {bad[0]} = {metrics[bad[0]]} is not a valid value "
                              "(NaN, infinite, negative, or a percentage above 100)")
        skipped = data.get("skipped") or []
        if data["n_seen"] + len(skipped) != data["n_images"]:
            raise RecordError(f"{where}: variant {name!r}: n_seen {data['n_seen']} != n_images {data['n_images']} "
                              f"and its 'skipped' list explains {len(skipped)} image(s): re-run the evaluation "
                              "(it resumes) or use --skip-bad-images")
        info = {k: v for k, v in data.items() if k not in _VARIANT_FIELDS}
        return cls(name, data["n_images"], data.get("n_official"), data["n_seen"], metrics,
                   data.get("state") or {}, skipped, info, data.get("note"))


@dataclass
class Record:
    """One model on one suite."""

    model: dict  # spec, name, params, weights, weights_sha256, state_dict_sha256, data_config[, training, ...]
    suite: dict  # name, version, root, fingerprint, label_subset, resize, description, data_origin
    run: dict  # device, precision, world_size, batch_size, task (job-array task [i, N] or null)
    measurement_id: str  # the measurement's identity: model, weights, preprocessing, suite, precision
    metric_set: dict  # {"id": ..., "metrics": [names]}: the metrics the states were made with
    variants: List[VariantResult]
    aggregates: dict = field(default_factory=dict)  # suite-level values (Suite.aggregates), definitions, notes
    schema_version: int = SCHEMA_VERSION
    robench_version: str = __version__
    created: str = ""
    env: dict = field(default_factory=dict)  # python, torch, timm, robench
    intervals: Optional[dict] = None  # optional, own version (robench.stats.record_intervals); None: not written

    def to_json(self):
        out = {"schema_version": self.schema_version, "robench_version": self.robench_version,
               "created": self.created, "model": self.model, "suite": self.suite, "run": self.run,
               "measurement_id": self.measurement_id, "metric_set": self.metric_set,
               "variants": [v.to_json() for v in self.variants], "aggregates": self.aggregates, "env": self.env}
        if self.intervals is not None:
            out["intervals"] = self.intervals
        return out

    @classmethod
    def from_json(cls, data, where="record"):
        if not isinstance(data, dict):
            raise RecordError(f"{where}: not a JSON object")
        version = data.get("schema_version")
        if version == 1:
            data = upgrade_v2(upgrade_v1(data))
        elif version == 2:
            data = upgrade_v2(data)
        elif version != SCHEMA_VERSION:
            raise RecordError(f"{where}: unknown schema_version {version!r} (this robench reads 1 to {SCHEMA_VERSION})")
        for key in ("model", "suite", "variants"):
            if key not in data:
                raise RecordError(f"{where}: record has no '{key}'")
        model, suite = data["model"], data["suite"]
        if not isinstance(model, dict) or not isinstance(model.get("name"), str) or not model["name"]:
            raise RecordError(f"{where}: record has no model name")
        if not isinstance(suite, dict) or not isinstance(suite.get("name"), str) or not suite["name"]:
            raise RecordError(f"{where}: record has no suite name")
        if not isinstance(data["variants"], list) or not data["variants"]:
            raise RecordError(f"{where}: record has no variants")
        if not isinstance(data.get("aggregates") or {}, dict):
            raise RecordError(f"{where}: 'aggregates' is not an object")
        odd = _non_finite(data.get("aggregates") or {})
        if odd:
            raise RecordError(f"{where}: aggregates.{odd} is NaN or infinite (records store finite numbers)")
        intervals = data.get("intervals")
        if intervals is not None:
            from robench.stats.record_intervals import check

            check(intervals, where)
        return cls(model, suite, data.get("run") or {}, data.get("measurement_id") or "",
                   data.get("metric_set") or {}, [VariantResult.from_json(v, where) for v in data["variants"]],
                   data.get("aggregates") or {}, SCHEMA_VERSION, data.get("robench_version", ""),
                   data.get("created", ""), data.get("env") or {}, intervals)

    @property
    def model_key(self):
        return model_key(self.to_json())


def upgrade_v1(data):
    """A version-1 record in version-2 form: count fields renamed, the data origin moved to the suite."""
    data = json.loads(json.dumps(data))
    aggregates = data.get("aggregates") or {}
    origin = aggregates.pop("protocol", None) if isinstance(aggregates, dict) else None
    for variant in data.get("variants") or []:
        if isinstance(variant, dict):
            if "n_expected" in variant:
                variant["n_images"] = variant.pop("n_expected")
            variant["n_official"] = variant.pop("n_reference", variant.get("n_official"))
            origin = variant.pop("protocol", None) or origin
    if isinstance(data.get("suite"), dict):
        data["suite"].setdefault("data_origin", origin or "released")
    if isinstance(data.get("run"), dict) and "shard" in data["run"]:
        data["run"]["task"] = data["run"].pop("shard")  # "shard" meant the job-array task; tar shards keep the word
    data["schema_version"] = 2
    return data


def upgrade_v2(data):
    """A version-2 record in version-3 form: ``protocol_hash`` is ``measurement_id``, and the model's
    ``checkpoint_sha256`` goes to the field that says what it hashed. Version 2 hashed the tensors for
    in-memory models and robench training checkpoints (``model.training``), a weights file otherwise."""
    data = json.loads(json.dumps(data))
    if "protocol_hash" in data:
        data["measurement_id"] = data.pop("protocol_hash")
    model = data.get("model")
    if isinstance(model, dict) and "checkpoint_sha256" in model:
        sha = model.pop("checkpoint_sha256")
        of_tensors = model.get("weights") == "in-memory" or isinstance(model.get("training"), dict)
        model.setdefault("weights_sha256", None if of_tensors else sha)
        model.setdefault("state_dict_sha256", sha if of_tensors else None)
    data["schema_version"] = SCHEMA_VERSION
    return data


def model_key(record):
    """What makes two records "the same model": the spec, the weights (and their hash), the
    preprocessing and the precision. Rows of the leaderboard and report-time joins use this key."""
    model, run = record.get("model") or {}, record.get("run") or {}
    return stable_hash({"spec": model.get("spec"), "weights": model.get("weights"),
                        "weights_sha256": model.get("weights_sha256"),
                        "state_dict_sha256": model.get("state_dict_sha256"), "data_config": model.get("data_config"),
                        "precision": run.get("precision", "fp32")})


def _non_finite(obj, path=""):
    """The path of the first NaN or infinite number inside ``obj`` ('' when there is none)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return path or "value"
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in items:
        found = _non_finite(value, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return ""


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, Real) and not isinstance(value, bool)


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise RecordError(f"{path}: not a readable JSON record ({e})") from None


def load_record(path):
    """The Record at ``path``, validated (RecordError naming the file when it is not one)."""
    return Record.from_json(read_json(path), str(path))


def read_record(path):
    """A validated record from disk as a JSON-ready dict (the form most consumers index into)."""
    return load_record(path).to_json()


def write_record(path, record):
    atomic_write_json(path, record.to_json())
    return path


def record_path(out_dir, model_name, suite_name, task=None):
    """``OUT/<model>/<suite>.json``; job-array task i of N writes ``<suite>.task-i-of-N.json``."""
    import os

    stem = suite_name if task is None else f"{suite_name}.task-{task[0]}-of-{task[1]}"
    return os.path.join(os.fspath(out_dir), model_name, f"{stem}.json")


def stable_hash(obj, length=16):
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:length]


def environment():
    import timm
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__, "timm": timm.__version__,
            "robench": __version__}


def now():
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
