"""Hugging Face datasets on disk, read in place: the same images as parquet shards of a hub snapshot, as a
`datasets` cache of Arrow files, and as wnid folders give the same record (metrics, states, counts).

Stand-ins, each in the real layout, written with pyarrow exactly as `datasets` writes them (the features
in every file's schema metadata under "huggingface"; Arrow caches as IPC streams beside dataset_info.json):
- `huggingface-cli download ILSVRC/imagenet-1k --repo-type dataset`: data/validation-0000i-of-00003.parquet
  (+ a train shard) and README.md whose YAML header holds dataset_info (features, splits) and configs;
  `label` a ClassLabel over the 1000 class descriptions in sorted-wnid order, n03126707 named "crane2";
- its hub cache copy (HF_HUB_CACHE/datasets--ILSVRC--imagenet-1k/snapshots/<rev>/, files symlinked to blobs);
- `load_dataset("ILSVRC/imagenet-1k")`'s cache: HF_DATASETS_CACHE/ILSVRC___imagenet-1k/default/0.0.0/<hash>/;
- `imagenet_sketch` (split train, ClassLabel) and `axiong/imagenet-r` (split test, a wnid column).
The `datasets` package is not installed here: pyarrow writes the same bytes it would.
"""
import json
import os

import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

from hosted_support import (R200, WNIDS, copy_marker, eval_record, folder_samples, same_numbers,
                            write_val_folders)
from robench.cli import cli
from robench.datasets import get_suite, hf_parquet
from robench.errors import DatasetLayoutError
from robench.labels import imagenet_descriptions

IMAGE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])


def hf_names():
    """ILSVRC/imagenet-1k's ClassLabel names: class descriptions in sorted-wnid order, the second crane renamed."""
    names = [imagenet_descriptions()[w] for w in WNIDS]
    names[517] = "crane2"
    return names


def class_label(names):
    return {"names": list(names), "_type": "ClassLabel"}


def image_rows(samples, wnid_column=False):
    """Rows as Hugging Face stores them, ordered by file name (HF's val order), not by class: a ClassLabel
    ``label`` (its names in sorted-wnid order, so the 1k index), or axiong/imagenet-r's wnid and class_name."""
    rows = []
    for name, data, label in sorted(samples, key=lambda s: s[0]):
        row = {"image": {"bytes": data, "path": name}}
        if wnid_column:
            row["wnid"] = WNIDS[label]
            row["class_name"] = imagenet_descriptions()[WNIDS[label]].split(",")[0]
        else:
            row["label"] = label
        rows.append(row)
    return rows


def schema_of(features, metadata=True):
    fields = []
    for name, feature in features.items():
        kind = feature["_type"]
        fields.append((name, IMAGE if kind == "Image" else pa.int64() if kind == "ClassLabel" else pa.string()))
    meta = {b"huggingface": json.dumps({"info": {"features": features}}).encode()} if metadata else None
    return pa.schema(fields, metadata=meta)


def table_of(rows, features, metadata=True):
    schema = schema_of(features, metadata)
    return pa.table({name: [r[name] for r in rows] for name in schema.names}, schema=schema)


def readme_features(features):
    out = []
    for name, feature in features.items():
        if feature["_type"] == "Image":
            out.append({"name": name, "dtype": "image"})
        elif feature["_type"] == "ClassLabel":
            out.append({"name": name, "dtype": {"class_label": {"names": {str(i): n for i, n in
                                                                          enumerate(feature["names"])}}}})
        else:
            out.append({"name": name, "dtype": feature.get("dtype", "string")})
    return out


def write_snapshot(root, splits, features, *, shards=3, row_group_size=2, metadata=True, readme=True,
                   num_examples=None):
    """A hub snapshot: ``data/<split>-0000i-of-0000n.parquet`` per split ({split: rows}) and its README.md."""
    os.makedirs(os.path.join(root, "data"), exist_ok=True)
    for split, rows in splits.items():
        n = min(shards, len(rows)) if split != "train" else 1
        for i in range(n):
            part = rows[i * len(rows) // n:(i + 1) * len(rows) // n]
            pq.write_table(table_of(part, features, metadata),
                           os.path.join(root, "data", f"{split}-{i:05d}-of-{n:05d}.parquet"),
                           row_group_size=row_group_size)
    if readme:
        header = {"dataset_info": {"features": readme_features(features),
                                   "splits": [{"name": s, "num_bytes": 0,
                                               "num_examples": (num_examples or {}).get(s, len(r))}
                                              for s, r in splits.items()]},
                  "configs": [{"config_name": "default",
                               "data_files": [{"split": s, "path": f"data/{s}-*"} for s in splits]}]}
        with open(os.path.join(root, "README.md"), "w") as f:
            f.write("---\n" + yaml.safe_dump(header, sort_keys=False) + "---\n\n# stand-in dataset card\n")
    return root


def write_arrow_cache(cache, hub_id, split, rows, features, shards=2, batch=2):
    """A `datasets` cache folder: <name>-<split>-0000i-of-0000n.arrow IPC streams and dataset_info.json."""
    name = hub_id.split("/")[-1]
    folder = os.path.join(cache, hub_id.replace("/", "___"), "default", "0.0.0", "9b0d7f1e2a3c4b5d")
    os.makedirs(folder)
    lengths = []
    for i in range(shards):
        part = rows[i * len(rows) // shards:(i + 1) * len(rows) // shards]
        table = table_of(part, features)
        with pa.ipc.new_stream(os.path.join(folder, f"{name}-{split}-{i:05d}-of-{shards:05d}.arrow"),
                               table.schema) as writer:
            writer.write_table(table, max_chunksize=batch)
        lengths.append(len(part))
    info = {"description": "", "citation": "", "homepage": "", "license": "", "features": features,
            "builder_name": name, "dataset_name": name, "config_name": "default",
            "version": {"version_str": "0.0.0", "major": 0, "minor": 0, "patch": 0},
            "splits": {split: {"name": split, "num_bytes": 0, "num_examples": len(rows),
                               "shard_lengths": lengths, "dataset_name": name}}}
    with open(os.path.join(folder, "dataset_info.json"), "w") as f:
        json.dump(info, f)
    return folder


def move_into_hub_cache(snapshot, hub, hub_id, revision="3f2c1e0d9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d"):
    """The snapshot as huggingface_hub caches it: files in blobs/, symlinked from snapshots/<rev>/, refs/main."""
    repo = os.path.join(hub, "datasets--" + hub_id.replace("/", "--"))
    target = os.path.join(repo, "snapshots", revision)
    os.makedirs(os.path.join(repo, "blobs"))
    os.makedirs(os.path.join(repo, "refs"))
    with open(os.path.join(repo, "refs", "main"), "w") as f:
        f.write(revision)
    for here, _, files in os.walk(snapshot):
        for name in files:
            src = os.path.join(here, name)
            rel = os.path.relpath(src, snapshot)
            blob = os.path.join(repo, "blobs", f"blob{abs(hash(rel))}")
            os.replace(src, blob)
            os.makedirs(os.path.dirname(os.path.join(target, rel)), exist_ok=True)
            os.symlink(os.path.relpath(blob, os.path.dirname(os.path.join(target, rel))), os.path.join(target, rel))
    return target


IMAGENET_FEATURES = {"image": {"_type": "Image"}, "label": class_label(hf_names())}


@pytest.fixture(scope="module")
def val(tmp_path_factory):
    """ImageNet val: wnid folders and the same images as a snapshot (with train and test splits beside)."""
    base = tmp_path_factory.mktemp("hf")
    folders = write_val_folders(str(base / "folders"))
    samples = folder_samples("imagenet", folders)
    rows = image_rows(samples)
    test_rows = [{"image": r["image"], "label": -1} for r in rows[:2]]  # the test split is unlabelled
    snapshot = write_snapshot(str(base / "snapshot"), {"train": rows[:3], "validation": rows, "test": test_rows},
                              IMAGENET_FEATURES)
    folder_record = eval_record("imagenet", folders, base / "out-folders")
    return {"base": base, "folders": folders, "samples": samples, "rows": rows, "snapshot": snapshot,
            "folder_record": folder_record}


def test_snapshot_parquet_equals_folders(val, tmp_path):
    record = eval_record("imagenet", val["snapshot"], tmp_path / "out", "-j", "2")  # 2 DataLoader workers
    same_numbers(record, val["folder_record"])
    (entry,) = record["variants"]
    n = len(val["samples"])
    assert (entry["n_images"], entry["n_seen"], entry["state"]["correct1"]) == (n, n, n - 1)  # one filed wrongly
    assert record["suite"]["data_format"] == {
        "format": "huggingface-parquet",
        "files": [f"data/validation-0000{i}-of-00003.parquet" for i in range(3)],
        "labels": "ClassLabel 'label' (1000 names: ImageNet class descriptions, mapped to wnids by name)"}


def test_classlabel_order_is_read_not_assumed(val, tmp_path):
    """A copy whose ClassLabel lists wnids in reverse order, features only in README.md (no file metadata)."""
    names = list(reversed(WNIDS))
    rows = [{"image": r["image"], "label": names.index(WNIDS[s[2]])}
            for r, s in zip(val["rows"], sorted(val["samples"], key=lambda s: s[0]))]
    root = write_snapshot(str(tmp_path / "reordered"), {"validation": rows},
                          {"image": {"_type": "Image"}, "label": class_label(names)}, metadata=False)
    same_numbers(eval_record("imagenet", root, tmp_path / "out"), val["folder_record"])


def test_datasets_cache_by_hub_id(val, tmp_path):
    cache = str(tmp_path / "datasets")
    write_arrow_cache(cache, "ILSVRC/imagenet-1k", "validation", val["rows"], IMAGENET_FEATURES)
    env = {"HF_HOME": str(tmp_path / "empty-home"), "HF_DATASETS_CACHE": cache}
    record = eval_record("imagenet", "hf:ILSVRC/imagenet-1k", tmp_path / "out", env=env)
    same_numbers(record, val["folder_record"])
    assert record["suite"]["data_format"]["format"] == "huggingface-arrow"
    assert record["suite"]["data_format"]["files"] == [
        f"imagenet-1k-validation-0000{i}-of-00002.arrow" for i in range(2)]


def test_hub_cache_snapshot_by_bare_id(val, tmp_path, monkeypatch):
    hub = str(tmp_path / "hub")
    snapshot = write_snapshot(str(tmp_path / "download"), {"validation": val["rows"]}, IMAGENET_FEATURES)
    move_into_hub_cache(snapshot, hub, "ILSVRC/imagenet-1k")
    monkeypatch.chdir(tmp_path)  # the bare id is not a path here
    record = eval_record("imagenet", "ILSVRC/imagenet-1k", tmp_path / "out", env={"HF_HUB_CACHE": hub})
    same_numbers(record, val["folder_record"])


def test_save_to_disk_folder(val, tmp_path):
    """Dataset.save_to_disk: data-00000-of-00001.arrow, dataset_info.json and state.json naming the split."""
    folder = write_arrow_cache(str(tmp_path / "cache"), "ILSVRC/imagenet-1k", "validation", val["rows"],
                               IMAGENET_FEATURES, shards=1)
    saved = str(tmp_path / "saved")
    os.makedirs(saved)
    os.replace(os.path.join(folder, "imagenet-1k-validation-00000-of-00001.arrow"),
               os.path.join(saved, "data-00000-of-00001.arrow"))
    os.replace(os.path.join(folder, "dataset_info.json"), os.path.join(saved, "dataset_info.json"))
    with open(os.path.join(saved, "state.json"), "w") as f:
        json.dump({"_data_files": [{"filename": "data-00000-of-00001.arrow"}], "_fingerprint": "0f1e2d3c4b5a6978",
                   "_format_columns": None, "_format_kwargs": {}, "_format_type": None,
                   "_output_all_columns": False, "_split": "validation"}, f)
    (variant,) = get_suite("imagenet").variants(saved)
    got = sorted((os.path.basename(k), d, l) for k, d, l in variant.source.iter_range(0, len(variant)))
    assert got == sorted(val["samples"]) and variant.source.describe()["files"] == ["data-00000-of-00001.arrow"]


def test_data_shard_packs_a_snapshot(val, tmp_path):
    """robench data shard reads the snapshot like folders: the shard set evaluates to the same numbers."""
    result = CliRunner().invoke(cli, ["data", "shard", "imagenet", val["snapshot"], str(tmp_path / "shards"),
                                      "--shard-size", "5", "--no-progress"])
    assert result.exit_code == 0, result.output
    same_numbers(eval_record("imagenet", tmp_path / "shards", tmp_path / "out"), val["folder_record"])


def test_clean_twin_keeps_only_its_200_classes(val, tmp_path):
    twin = eval_record("imagenet-val-r200", val["snapshot"], tmp_path / "hf")
    same_numbers(twin, eval_record("imagenet-val-r200", val["folders"], tmp_path / "folders"))
    kept = [s for s in val["samples"] if s[2] in set(R200)]
    assert twin["variants"][0]["n_images"] == len(kept) == 7  # 3 classes x 2, and the image filed under one


def test_slices_read_only_their_row_groups(val, monkeypatch):
    (variant,) = get_suite("imagenet").variants(val["snapshot"])
    source = variant.source
    whole = list(source.iter_range(0, len(source)))
    assert sorted((os.path.basename(k), d, l) for k, d, l in whole) == sorted(val["samples"])
    assert all(list(source.iter_range(a, b)) == whole[a:b] for a in range(len(whole)) for b in range(a, len(whole) + 1))
    reads = []
    real = hf_parquet.read_column
    monkeypatch.setattr(hf_parquet, "read_column", lambda *a: reads.append(a[1:3]) or real(*a))
    fresh = get_suite("imagenet").variants(val["snapshot"])[0].source
    reads.clear()
    assert list(fresh.iter_range(2, 4)) == whole[2:4]
    assert reads == [("parquet", 1)]  # rows 2 and 3: the second row group of the first shard, nothing else


def test_sketch_train_split_equals_folders(tmp_path):
    """imagenet_sketch: split train, a ClassLabel of class descriptions."""
    folders = str(tmp_path / "folders")
    get_suite("imagenet-sketch").write_generated(folders, n_classes=4, per_class=2, size=32, seed=2)
    rows = image_rows(folder_samples("imagenet-sketch", folders))
    root = write_snapshot(str(tmp_path / "imagenet_sketch"), {"train": rows}, IMAGENET_FEATURES)
    copy_marker(folders, root)
    same_numbers(eval_record("imagenet-sketch", root, tmp_path / "a"),
                 eval_record("imagenet-sketch", folders, tmp_path / "b"))


def test_imagenet_r_wnid_column_equals_folders(tmp_path):
    """axiong/imagenet-r: split test, columns image, wnid, class_name; scored over the 200 classes."""
    folders = str(tmp_path / "folders")
    get_suite("imagenet-r").write_generated(folders, labels=[R200[1], R200[77], R200[150]], per_class=3, size=32)
    rows = image_rows(folder_samples("imagenet-r", folders), wnid_column=True)
    features = {"image": {"_type": "Image"}, "wnid": {"dtype": "string", "_type": "Value"},
                "class_name": {"dtype": "string", "_type": "Value"}}
    root = write_snapshot(str(tmp_path / "imagenet-r"), {"test": rows}, features, shards=2)
    copy_marker(folders, root)
    record = eval_record("imagenet-r", root, tmp_path / "a")
    same_numbers(record, eval_record("imagenet-r", folders, tmp_path / "b"))
    assert record["suite"]["data_format"]["labels"] == "column 'wnid' (wnids)"


# --- bad input: one line naming the file and what was expected ------------------------------------
def _bad(tmp_path, features, rows, split="validation", **options):
    return write_snapshot(str(tmp_path / "bad"), {split: rows}, features, shards=1, **options)


def _error(suite, root):
    with pytest.raises(DatasetLayoutError) as e:
        get_suite(suite).variants(root)
    assert "\n" not in str(e.value)
    return str(e.value)


def test_parquet_without_a_label_column(val, tmp_path):
    root = _bad(tmp_path, {"image": {"_type": "Image"}}, [{"image": r["image"]} for r in val["rows"]])
    message = _error("imagenet", root)
    assert message.startswith(os.path.join(root, "data", "validation-00000-of-00001.parquet") + " has no label column")


def test_classlabel_names_that_are_neither_wnids_nor_class_names(val, tmp_path):
    names = [f"class {i}" for i in range(1000)]
    root = _bad(tmp_path, {"image": {"_type": "Image"}, "label": class_label(names)}, val["rows"])
    message = _error("imagenet", root)
    assert "names are neither ImageNet wnids nor ImageNet class descriptions (e.g. 'class 0'" in message
    assert message.startswith(os.path.join(root, "data", "validation-00000-of-00001.parquet") + ": ClassLabel 'label'")


def test_integer_labels_without_names_are_refused(val, tmp_path):
    root = _bad(tmp_path, IMAGENET_FEATURES, val["rows"], metadata=False, readme=False)
    assert "column 'label' has no ClassLabel names" in _error("imagenet", root)
    assert "never assumes a class order" in _error("imagenet", root)


def test_unlabelled_test_split_is_refused(val, tmp_path):
    root = _bad(tmp_path, IMAGENET_FEATURES, [{"image": r["image"], "label": -1} for r in val["rows"]])
    assert "label -1 is not one of the 1000 classes" in _error("imagenet", root)


def test_a_missing_shard_and_a_short_split(val, tmp_path):
    root = write_snapshot(str(tmp_path / "gap"), {"validation": val["rows"]}, IMAGENET_FEATURES)
    os.unlink(os.path.join(root, "data", "validation-00001-of-00003.parquet"))
    assert "say there are 3 of them but 2 are here (missing e.g. data/validation-00001-of-00003.parquet)" in \
        _error("imagenet", root)
    short = write_snapshot(str(tmp_path / "short"), {"validation": val["rows"]}, IMAGENET_FEATURES,
                           num_examples={"validation": 50_000})
    readme = os.path.join(short, "README.md")
    assert f"hold {len(val['rows'])} rows but {readme} says 50000" in _error("imagenet", short)


def test_split_not_there(val, tmp_path):
    root = _bad(tmp_path, IMAGENET_FEATURES, val["rows"], split="train")
    assert "has parquet files of splits train but none of split 'validation'" in _error("imagenet", root)


def test_wnid_outside_the_200_classes(val, tmp_path):
    rows = [{"image": r["image"], "wnid": WNIDS[0], "class_name": "tench"} for r in val["rows"][:2]]
    features = {"image": {"_type": "Image"}, "wnid": {"dtype": "string", "_type": "Value"},
                "class_name": {"dtype": "string", "_type": "Value"}}
    root = _bad(tmp_path, features, rows, split="test")
    message = _error("imagenet-r", root)
    assert message.startswith(os.path.join(root, "data", "test-00000-of-00001.parquet") + " (row 0): class n01440764 "
                              "is not one of the 200 imagenet_r classes of imagenet-r")


def test_hub_id_not_on_disk_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HF_DATASETS_CACHE", raising=False)
    message = _error("imagenet", "hf:ILSVRC/imagenet-1k")
    assert message == (
        f"ILSVRC/imagenet-1k is not on this disk (looked in {tmp_path}/home/hub/datasets--ILSVRC--imagenet-1k and "
        f"{tmp_path}/home/datasets/ILSVRC___imagenet-1k: HF_HUB_CACHE/HF_HOME, HF_DATASETS_CACHE); robench never "
        "downloads: run huggingface-cli download ILSVRC/imagenet-1k --repo-type dataset --include '*validation*' "
        "--include '*.json' --include '*.yaml' --include 'README.md' --local-dir DIR and pass --root DIR")
    result = CliRunner().invoke(cli, ["data", "check", "imagenet", "hf:ILSVRC/imagenet-1k"])
    assert result.exit_code == 2 and result.output.strip().count("\n") == 0 and "is not on this disk" in result.output


def test_data_check_reports_the_format(val):
    result = CliRunner().invoke(cli, ["data", "check", "imagenet", val["snapshot"]])
    assert result.exit_code == 0, result.output
    assert "huggingface-parquet" in result.output and "3 files" in result.output


# --- several processes ------------------------------------------------------------------------------
@pytest.mark.multiprocess
def test_torchrun_world_3_on_parquet_equals_folders(val, tmp_path):
    """World 3 over 19 rows in row groups of 2: rank slices start and stop inside row groups and shards."""
    from engine_support import ORACLE, load, run

    out = str(tmp_path / "out")
    run(["eval", "-m", ORACLE, "-r", val["snapshot"], "-o", out, "-j", "0", "-b", "3", "--no-progress"], nproc=3)
    record = load(os.path.join(out, "colour_oracle", "imagenet.json"))
    assert record["run"]["world_size"] == 3
    same_numbers(record, val["folder_record"])


@pytest.mark.multiprocess
def test_tasks_and_merge_on_arrow_cache_equal_folders(val, tmp_path):
    from engine_support import ORACLE, in_process, load

    cache = str(tmp_path / "datasets")
    folder = write_arrow_cache(cache, "ILSVRC/imagenet-1k", "validation", val["rows"], IMAGENET_FEATURES)
    out = str(tmp_path / "out")
    for i in range(3):
        in_process(["eval", "-m", ORACLE, "-r", folder, "-o", out, "-j", "0", "-b", "3", "--no-progress",
                    "--task", f"{i}/3"])
    in_process(["merge", out])
    same_numbers(load(os.path.join(out, "colour_oracle", "imagenet.json")), val["folder_record"])
