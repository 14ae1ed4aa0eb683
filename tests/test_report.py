"""`robench report DIR`: the paper-style table of an --out folder, in four formats, with --compare and --collection.

Records come from the real engine on generated data (the colour oracle scores exactly 100%, a random
ResNet-18 near 0%) and from the leaderboard's fixture records (known numbers, see test_leaderboard.py),
copied into one --out folder beside a partial job-array record and the engine's hidden .cells folders.
"""
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import types

import pytest
from click.testing import CliRunner

from robench.cli import cli
from robench.errors import RobenchError
from robench.leaderboard.columns import column
from robench.leaderboard.protocol import describe, protocol_key
from robench.report import compare, render, render_comparison, report_columns, report_frame
from robench.results import read_record

from engine_support import ORACLE, markdown_rows

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "leaderboard", "entries")
DEIT, ROBUST = "deit_small_patch16_224", "robust_resnet_up_inverted_dw_small"
STANDARD = "Standard protocol"
COLUMNS = ["imagenet_top1", "stylized_top1", "imagenet_c_mean_error", "imagenet_c_mce", "imagenet_c_relative_mce",
           "imagenet_r_top1", "sketch_top1", "imagenet_val_r200_top1", "imagenet_a_top1",
           "imagenet_v2_matched_frequency_top1", "imagenet_v2_threshold_0_7_top1", "imagenet_v2_top_images_top1",
           "imagenet-c-bar:mean_error"]
# the leaderboard's numbers (tests/test_leaderboard.py, tests/data/leaderboard/expected.md), one decimal
ROBUST_SHOWN = ["79.3", "20.1", "40.8", "51.7", "57.7", "48.5", "35.1", "93.1", "–", "–", "–", "–", "–"]
DEIT_SHOWN = ["79.9", "–", "42.7", "54.2", "65.4", "–", "–", "–", "19.6", "68.6", "77.8", "83.0", "38.0"]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """An --out folder: oracle and resnet18@random on generated ImageNet, the two fixture models, a partial."""
    import torch

    from robench.datasets import synth
    from robench.engine import EvalOptions, evaluate

    base = tmp_path_factory.mktemp("report")
    root, out = str(base / "data"), str(base / "out")
    synth.write_imagenet(root, n_classes=3, per_class=2, size=32)
    torch.manual_seed(0)
    evaluate([ORACLE, "resnet18@random"], "imagenet", root, out,
             options=EvalOptions(batch_size=8, workers=0, progress=False))
    for model in (DEIT, ROBUST):
        shutil.copytree(os.path.join(FIXTURES, model), os.path.join(out, model))
    with open(os.path.join(out, "colour_oracle", "imagenet.json")) as f:
        partial = json.load(f)
    partial["run"]["task"] = [0, 2]
    with open(os.path.join(out, "colour_oracle", "imagenet.task-0-of-2.json"), "w") as f:
        json.dump(partial, f)
    assert os.path.isdir(os.path.join(out, "colour_oracle", ".cells"))  # the engine's cells: never read
    return out


@pytest.fixture(scope="module")
def frame(results):
    return report_frame(results)


def report(*args):
    return CliRunner().invoke(cli, ["report", *args])


def section_title(out, model, suite="imagenet"):
    return describe(protocol_key(read_record(os.path.join(out, model, f"{suite}.json"))))


def one_line_error(result, text):
    """Exit 2, no traceback, and one error line (besides the warnings about skipped files)."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    (error,) = [line for line in result.stderr.splitlines() if not line.startswith("warning: skipped ")]
    assert text in error


def test_frame_has_one_row_per_section_and_model_and_the_declared_columns(results, frame):
    assert list(frame.columns) == ["section", "model", *COLUMNS]
    oracle_section, random_section = section_title(results, "colour_oracle"), section_title(results, "resnet18")
    assert "generated stand-in data" in oracle_section and "random weights" in random_section
    assert list(zip(frame["section"], frame["model"])) == [
        (STANDARD, DEIT), (STANDARD, ROBUST), (oracle_section, "colour_oracle"), (random_section, "resnet18")]
    rows = frame.set_index("model")
    assert [("–" if v != v else f"{v:.1f}") for v in rows.loc[ROBUST, COLUMNS]] == ROBUST_SHOWN
    assert [("–" if v != v else f"{v:.1f}") for v in rows.loc[DEIT, COLUMNS]] == DEIT_SHOWN
    assert rows.loc["colour_oracle", "imagenet_top1"] == 100.0
    assert rows.loc["resnet18", "imagenet_top1"] < 34  # at most 2 of 6 images: a floor, not a model
    assert rows.loc["colour_oracle", COLUMNS[1:]].isna().all()
    assert str(frame["imagenet_top1"].dtype) == "float64"
    (problem,) = frame.attrs["problems"]  # the partial; the .cells folders are not even looked at
    assert problem.path.endswith(os.path.join("colour_oracle", "imagenet.task-0-of-2.json"))
    assert problem.reason == "partial record of a job-array task, already merged into imagenet.json"


def test_frame_from_records_equals_frame_from_the_folder(results, frame):
    paths = [os.path.join(results, m, f) for m in sorted(os.listdir(results))
             for f in sorted(os.listdir(os.path.join(results, m))) if f.endswith(".json") and ".task-" not in f]
    from_records = report_frame([read_record(p) for p in paths])
    assert from_records.equals(frame) and from_records.attrs["problems"] == []


def test_table_format(results, frame):
    result = report(results)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"warning: skipped {os.path.join(results, 'colour_oracle', 'imagenet.task-0-of-2.json')}: partial record "
        "of a job-array task, already merged into imagenet.json"]
    lines = result.stdout.splitlines()
    titles = [lines[i - 2] for i, line in enumerate(lines) if line.startswith("Model ")]
    assert titles == list(dict.fromkeys(frame["section"]))
    header = lines[lines.index(STANDARD) + 2]
    assert header.split()[:4] == ["Model", "ImageNet", "↑", "Stylized-ImageNet"] and "relative mCE ↓" in header
    models = set(frame["model"])
    cells = {line.split()[0]: line.split()[1:] for line in lines if line.split() and line.split()[0] in models}
    assert cells[ROBUST] == ROBUST_SHOWN and cells[DEIT] == DEIT_SHOWN  # no bold in a terminal
    assert cells["colour_oracle"] == ["100.0"] + ["–"] * 12
    assert cells["resnet18"][0] == f"{frame.set_index('model').loc['resnet18', 'imagenet_top1']:.1f}"
    assert lines[-1] == "Values are percent; ↑ higher is better, ↓ lower is better; – means not measured."


def test_markdown_format_is_the_leaderboards_table_with_definitions(results, frame):
    result = report(results, "--format", "markdown")
    assert result.exit_code == 0, result.output
    markdown = result.stdout
    titles = [line[3:] for line in markdown.splitlines() if line.startswith("## ")]
    assert titles == list(dict.fromkeys(frame["section"]))
    rows = {r["Model"]: r for r in markdown_rows(markdown)}
    robust = rows[ROBUST]
    assert list(robust)[1:4] == ["ImageNet ↑ [^imagenet_top1]", "Stylized-ImageNet ↑ [^stylized_top1]",
                                 "ImageNet-C mean error ↓ [^imagenet_c_mean_error]"]
    assert robust["mCE ↓ [^imagenet_c_mce]"] == "**51.7**" and rows[DEIT]["mCE ↓ [^imagenet_c_mce]"] == "54.2"
    assert robust["relative mCE ↓ [^imagenet_c_relative_mce]"] == "**57.7**"  # joined with its imagenet record
    imagenet = "ImageNet ↑ [^imagenet_top1]"
    assert robust[imagenet] == "79.3" and rows[DEIT][imagenet] == "**79.9**"
    assert robust["ImageNet-A ↑ [^imagenet_a_top1]"] == "–"
    assert rows["colour_oracle"]["ImageNet ↑ [^imagenet_top1]"] == "100.0"  # alone in its section: no bold
    for cid in COLUMNS:
        label = cid.replace(":", "-")
        assert f"[^{label}]: **{column(cid).header}**: {column(cid).definition}\n" in markdown


def test_csv_format_is_unrounded_with_section_and_model_columns(results, frame):
    result = report(results, "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["section", "model", *COLUMNS]
    assert [(r["section"], r["model"]) for r in rows] == list(zip(frame["section"], frame["model"]))
    robust = next(r for r in rows if r["model"] == ROBUST)
    record = read_record(os.path.join(results, ROBUST, "imagenet-c.json"))
    assert float(robust["imagenet_c_mce"]) == record["aggregates"]["mce"]  # exactly the record's number
    assert robust["imagenet_c_mce"] != "51.7" and round(float(robust["imagenet_c_mce"]), 1) == 51.7
    assert float(robust["imagenet_top1"]) == 79.312
    assert robust["imagenet_a_top1"] == ""
    oracle = next(r for r in rows if r["model"] == "colour_oracle")
    assert float(oracle["imagenet_top1"]) == 100.0 and oracle["section"] == section_title(results, "colour_oracle")


def test_json_format_has_column_definitions_and_rows(results, frame):
    result = report(results, "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [c["id"] for c in doc["columns"]] == COLUMNS
    mce = doc["columns"][COLUMNS.index("imagenet_c_mce")]
    assert mce == {"id": "imagenet_c_mce", "header": "mCE", "higher_is_better": False,
                   "definition": column("imagenet_c_mce").definition}
    assert [(r["section"], r["model"]) for r in doc["rows"]] == list(zip(frame["section"], frame["model"]))
    robust = next(r for r in doc["rows"] if r["model"] == ROBUST)
    assert robust["imagenet_top1"] == 79.312 and robust["imagenet_a_top1"] is None
    assert round(robust["imagenet_c_relative_mce"], 1) == 57.7
    assert json.loads(render(frame, "json")) == doc


def test_compare_within_a_shared_section(frame, results):
    result = report(results, "--compare", DEIT, ROBUST)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == STANDARD
    assert lines[2].split() == ["Column", "A:", DEIT, "B:", ROBUST, "B", "-", "A", "better"]
    body = [line.split("  ") for line in lines[4:]]
    assert [[c.strip() for c in row if c.strip()] for row in body] == [
        ["ImageNet ↑", "79.86", "79.31", "-0.54", "← A"],
        ["ImageNet-C mean error ↓", "42.74", "40.80", "-1.94", "B →"],
        ["mCE ↓", "54.19", "51.74", "-2.45", "B →"],
        ["relative mCE ↓", "65.43", "57.73", "-7.71", "B →"]]
    table = compare(frame, DEIT, ROBUST)
    assert list(table["column"]) == ["imagenet_top1", "imagenet_c_mean_error", "imagenet_c_mce",
                                     "imagenet_c_relative_mce"]
    assert list(table["better"]) == [DEIT, ROBUST, ROBUST, ROBUST] and table.attrs["note"] == ""
    assert table["b_minus_a"].iloc[0] == 79.312 - 79.856
    machine = json.loads(report(results, "--compare", DEIT, ROBUST, "--format", "json").stdout)
    assert machine[0] == {"section": STANDARD, "column": "imagenet_top1", "header": "ImageNet",
                          "higher_is_better": True, "model_a": DEIT, "a": 79.856, "model_b": ROBUST, "b": 79.312,
                          "b_minus_a": 79.312 - 79.856, "better": DEIT}
    markdown = report(results, "--compare", ROBUST, DEIT, "--format", "markdown").stdout
    assert markdown.startswith(f"## {STANDARD}\n") and "| mCE ↓ " in markdown and "| ← A " in markdown


def test_compare_across_protocols_says_so(frame, results):
    result = report(results, "--compare", "colour_oracle", "resnet18")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[-1].startswith("note: colour_oracle and resnet18 share no protocol section")
    lines = result.stdout.splitlines()
    assert lines[0] == (f"A: {section_title(results, 'colour_oracle')} / B: {section_title(results, 'resnet18')}")
    (row,) = [line for line in lines if line.startswith("ImageNet ↑")]
    assert row.split()[2] == "100.00" and row.endswith("← A")
    no_oracle_value = frame.copy()
    no_oracle_value.loc[no_oracle_value["model"] == "colour_oracle", "imagenet_top1"] = float("nan")
    with pytest.raises(RobenchError, match="colour_oracle and resnet18 have no column in common"):
        compare(no_oracle_value, "colour_oracle", "resnet18")


def test_compare_of_hand_made_frames_equal_values_and_unrelated_sections():
    import pandas as pd

    frame = pd.DataFrame({"section": ["S1", "S2", "S3", "S4"], "model": ["a", "a", "b", "b"],
                          "imagenet_top1": [50.0, 60.0, 50.0, 70.0], "imagenet_c_mce": [40.0] * 4})
    with pytest.raises(RobenchError, match="a and b share no protocol section .*: their numbers are not comparable"):
        compare(frame, "a", "b")
    same = frame.assign(section=["S1", "S2", "S1", "S3"])
    table = compare(same, "a", "b")
    assert list(table["better"]) == ["", ""] and list(table["b_minus_a"]) == [0.0, 0.0]
    assert [line.split()[-1] for line in render_comparison(table).splitlines()[-2:]] == ["=", "="]


def test_unknown_model_names_are_one_line_errors_with_suggestions(results):
    result = report(results, "--compare", "colour_orcle", ROBUST)
    one_line_error(result, "unknown model 'colour_orcle' in this report. Did you mean colour_oracle?")
    one_line_error(report(results, "--compare", DEIT, "resnet1"), "Did you mean resnet18?")


def test_missing_or_empty_directory_says_what_to_run(tmp_path):
    missing = tmp_path / "missing"
    one_line_error(report(str(missing)), f"results directory {missing} does not exist: run `robench eval "
                                         f"--model MODEL --root DATA --out {missing}` first")
    empty = tmp_path / "empty"
    (empty / "m" / ".cells").mkdir(parents=True)
    one_line_error(report(str(empty)), f"no result records in {empty}: run `robench eval")
    (empty / "m" / "imagenet.json").write_text("{not json")
    result = report(str(empty))
    assert result.exit_code == 2 and "1 file(s) there could not be used" in result.stderr
    assert result.stderr.startswith("warning: skipped ") and "Traceback" not in result.output
    with pytest.raises(RobenchError, match="no result records"):
        report_frame([])
    with pytest.raises(RobenchError, match="unknown report format 'html'"):
        render(report_frame(FIXTURES + os.sep + ROBUST), "html")
    assert report(str(empty), "--format", "html").exit_code == 2  # click's own usage error


def test_report_columns_restricts_and_orders_by_suite_names():
    present = {"imagenet": ["imagenet_top1"],
               "imagenet-c": ["imagenet_c_relative_mce", "imagenet_c_mce", "imagenet_c_mean_error"],
               "imagenet-c-bar": ["imagenet-c-bar:mean_error"]}
    assert report_columns(present) == ["imagenet_top1", "imagenet_c_mean_error", "imagenet_c_mce",
                                       "imagenet_c_relative_mce", "imagenet-c-bar:mean_error"]
    assert report_columns(present, ["ImageNet_C", "imagenet-a", "imagenet"]) == [
        "imagenet_c_mean_error", "imagenet_c_mce", "imagenet_c_relative_mce", "imagenet_top1"]
    assert report_columns(present, ["imagenet-c-bar"]) == ["imagenet-c-bar:mean_error"]  # not installed, present
    with pytest.raises(RobenchError, match="unknown suite 'imagenet-q'. Did you mean imagenet"):
        report_columns(present, ["imagenet-q"])
    with pytest.raises(RobenchError, match=r"no records of suite\(s\) imagenet-a, imagenet-v2 here"):
        report_columns(present, ["imagenet-a", "imagenet-v2"])


def test_report_frame_with_suites_keeps_joins_and_drops_empty_rows(results):
    only_c = report_frame(results, suites=["imagenet-c"])
    assert list(only_c.columns) == ["section", "model", "imagenet_c_mean_error", "imagenet_c_mce",
                                    "imagenet_c_relative_mce"]
    assert list(only_c["model"]) == [DEIT, ROBUST]  # the generated-data models have no ImageNet-C record
    assert round(only_c.set_index("model").loc[ROBUST, "imagenet_c_relative_mce"], 1) == 57.7  # still joined


def test_collection_option_uses_the_registered_collection(results, monkeypatch):
    try:
        from robench.datasets import COLLECTIONS
    except ImportError:
        pytest.skip("robench.datasets.COLLECTIONS is not there yet")
    name = "report-test-collection"
    COLLECTIONS.register(name, types.SimpleNamespace(name=name, suites=("imagenet-sketch", "imagenet"),
                                                     description="for tests/test_report.py"))
    COLLECTIONS.register("report-test-everything", types.SimpleNamespace(
        name="report-test-everything", suites=None, description="every suite"))
    try:
        result = report(results, "--collection", name, "--format", "csv")
        everything = report(results, "--collection", "report-test-everything", "--format", "csv")
    finally:
        COLLECTIONS.unregister(name)
        COLLECTIONS.unregister("report-test-everything")
    assert everything.stdout == report(results, "--format", "csv").stdout  # suites None: no restriction
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["section", "model", "sketch_top1", "imagenet_top1"]
    assert [r["model"] for r in rows] == [DEIT, ROBUST, "colour_oracle", "resnet18"]
    one_line_error(report(results, "--collection", "no-such-collection"), "unknown collection 'no-such-collection'")


def test_collection_option_without_collections_is_a_clear_error(results, monkeypatch):
    import robench.datasets as datasets

    def no_collections(name):
        raise AttributeError(name)

    if "COLLECTIONS" in vars(datasets):
        monkeypatch.delattr(datasets, "COLLECTIONS")
    monkeypatch.setattr(datasets, "__getattr__", no_collections, raising=False)
    one_line_error(report(results, "--collection", "paper"),
                   "--collection paper: this robench has no suite collections")


def test_report_is_cheap_to_import_and_run():
    code = ("import sys; from robench.report import report_frame, render; "
            f"render(report_frame({FIXTURES!r}), 'csv'); print('torch' in sys.modules, 'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert out.stdout.split() == ["False", "False"]
