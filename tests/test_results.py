"""Records: schema round trip, atomic writes that never leave a corrupt file."""
import json
import os

import pytest

from robench.errors import RecordError
from robench.results import SCHEMA_VERSION, Record, atomic_write_json, read_record, record_path


def _record():
    return Record.from_json({
        "schema_version": SCHEMA_VERSION, "model": {"name": "m"}, "suite": {"name": "imagenet"},
        "variants": [{"name": "imagenet/val", "n_images": 3, "n_seen": 3, "metrics": {"top1": 66.5}}]}).to_json()


def test_round_trip(tmp_path):
    path = record_path(tmp_path, "m", "imagenet")
    atomic_write_json(path, _record())
    assert read_record(path) == _record()
    assert path.endswith(os.path.join("m", "imagenet.json"))
    assert record_path(tmp_path, "m", "imagenet", (1, 4)).endswith("imagenet.task-1-of-4.json")


def test_interrupted_write_keeps_the_old_record(tmp_path):
    path = tmp_path / "r.json"
    atomic_write_json(path, _record())
    bad = _record()
    bad["variants"][0]["metrics"]["top1"] = object()  # json.dump fails half-way through
    with pytest.raises(TypeError):
        atomic_write_json(path, bad)
    assert read_record(path) == _record()
    assert os.listdir(tmp_path) == ["r.json"]  # no temp file left behind


def test_nan_is_refused_not_written(tmp_path):
    bad = _record()
    bad["variants"][0]["metrics"]["top1"] = float("nan")
    with pytest.raises(ValueError):
        atomic_write_json(tmp_path / "r.json", bad)
    assert not (tmp_path / "r.json").exists()


def test_unknown_schema_and_malformed_json(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({**_record(), "schema_version": 99}))
    with pytest.raises(RecordError, match="unknown schema_version 99"):
        read_record(tmp_path / "a.json")
    (tmp_path / "b.json").write_text('{"schema_version": 1, "model": ')
    with pytest.raises(RecordError, match="not a readable JSON record"):
        read_record(tmp_path / "b.json")


def test_version_1_records_are_read_with_their_fields_renamed(tmp_path):
    old = {"schema_version": 1, "model": {"name": "m"}, "suite": {"name": "imagenet-c"},
           "variants": [{"name": "imagenet-c/fog/1", "corruption": "fog", "protocol": "generated",
                         "n_expected": 4, "n_reference": 50000, "n_seen": 4, "metrics": {"top1": 50.0}}],
           "aggregates": {"protocol": "generated", "mce": 50.0}}
    (tmp_path / "old.json").write_text(json.dumps(old))
    record = read_record(tmp_path / "old.json")
    (variant,) = record["variants"]
    assert (variant["n_images"], variant["n_official"], variant["corruption"]) == (4, 50000, "fog")
    assert "protocol" not in variant and "n_expected" not in variant
    assert record["suite"]["data_origin"] == "generated" and record["aggregates"] == {"mce": 50.0}


@pytest.mark.parametrize("change, message", [
    (lambda v: v.update(n_seen=5), "n_seen 5 != n_images 3"),
    (lambda v: v.update(n_images=-1, n_seen=-1), "n_images must be a non-negative integer"),
    (lambda v: v["metrics"].update(top1="66.5"), "records store numbers as numbers"),
])
def test_records_that_do_not_add_up_are_refused(tmp_path, change, message):
    bad = _record()
    change(bad["variants"][0])
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(RecordError, match=message):
        read_record(tmp_path / "bad.json")
