"""Importing model-vs-human's cue-conflict trials (shape bias by robench's definition) and RobustBench's
ImageNet corruption leaderboard; cells attached to another source's row; the README's folded sections.
Fixtures are written in the publishers' real formats (model-vs-human's trial CSV columns and image names,
RobustBench's JSON with numbers as strings)."""
import json
import os

import pandas as pd
import pytest
from click.testing import CliRunner

from robench.cli import cli
from robench.errors import RecordError
from robench.leaderboard import generate
from robench.leaderboard.attach import attach
from robench.leaderboard.import_model_vs_human import (HUMANS, UNREVIEWED, UPSAMPLED, read_counts,
                                                       read_model_vs_human, trial_counts)
from robench.leaderboard.import_robustbench import PROTOCOL, read_robustbench
from robench.leaderboard.importers import load_imported
from robench.leaderboard.load import load_reported

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOARD = os.path.join(REPO, "leaderboard")
HEADER = "subj,session,trial,rt,object_response,category,condition,imagename\n"
MANIFEST = {"commit": "93ee676"}


def trials(folder, subj, rows, session="session-1"):
    """A model-vs-human trial file: rows of (response, shape, texture); humans' names carry the lab prefix."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, (response, shape, texture) in enumerate(rows):
        stem = f"{shape}{i % 9 + 1}-{texture}{i % 3 + 1}.png"
        name = f"{i + 1:04d}_s5n_s01_0_{shape}_00_{stem}" if subj.startswith("subject-") else stem
        lines.append(f"{subj},1,{i + 1},NaN,{response},{shape},NaN,{name}\n")
    path = folder / f"cue-conflict_{subj.replace('_', '-')}_{session}.csv"
    path.write_text(HEADER + "".join(lines))
    return path


# hand-counted: 5 trials, the (cat, cat) one has no conflict; of the 4 conflict trials, 2 shape, 1 texture,
# 1 neither -> shape bias 2 / (2 + 1) = 66.667%
RESNET = [("cat", "cat", "dog"), ("cat", "cat", "cat"), ("bird", "dog", "bird"), ("dog", "dog", "clock"),
          ("knife", "car", "truck")]
HUMAN_1 = [("cat", "cat", "dog"), ("na", "bird", "car"), ("bird", "bird", "cat")]  # 2 shape, 0 texture
HUMAN_2 = [("dog", "cat", "dog"), ("bird", "bird", "car")]  # 1 shape, 1 texture


@pytest.fixture
def checkout(tmp_path):
    raw = tmp_path / "model-vs-human" / "raw-data" / "cue-conflict"
    trials(raw, "resnet50", RESNET)
    trials(raw, "subject-01", HUMAN_1, "session_1")
    trials(raw, "subject-02", HUMAN_2, "session_1")
    trials(raw, "swag_vit_b16_in1k", [("cat", "cat", "dog")])
    trials(raw, "mystery_net", [("dog", "cat", "dog")])
    (raw.parent / "edge").mkdir()
    return tmp_path / "model-vs-human"


def test_shape_bias_equals_the_hand_count_and_humans_are_pooled(checkout):
    rows = read_model_vs_human([str(checkout)], MANIFEST).set_index("model")
    assert rows.loc["resnet50.tv_in1k", "cue_conflict_shape_bias"] == 66.667
    assert rows.loc["resnet50.tv_in1k", "protocol"] == "" and rows.loc["resnet50.tv_in1k", "attach_to"] == "timm"
    assert rows.loc["resnet50.tv_in1k", "notes"].startswith(
        "shape bias 2 shape / (2 shape + 1 texture) decisions on 4 conflict trials of 5; model-vs-human's resnet50: "
        "torchvision resnet50(pretrained=True)")
    assert rows.loc[HUMANS, "cue_conflict_shape_bias"] == 75.0  # (2 + 1) / (2 + 0 + 1 + 1), pooled
    assert "subject-01, subject-02" in rows.loc[HUMANS, "notes"] and "per observer 50.0-100.0%" in rows.loc[HUMANS, "notes"]
    assert rows.loc["swag_vit_b16_in1k", "protocol"] == UPSAMPLED  # stimuli upsampled to 384 px: not standard
    mystery = rows.loc["mystery_net"]
    assert mystery["protocol"] == UNREVIEWED and mystery["cue_conflict_shape_bias"] == 0  # its one texture decision
    assert (rows["source"] == "model-vs-human").all() and rows["source_url"].str.contains("93ee676").all()


def test_robench_counts_agree_with_model_vs_humans_shape_bias_analysis(checkout):
    """model-vs-human's ShapeBias.analysis, restated in pandas as its analyses.py writes it."""
    for path in sorted((checkout / "raw-data" / "cue-conflict").glob("*.csv")):
        df = pd.read_csv(path)
        df["correct_texture"] = [n.split("_")[-1].split(".")[0].split("-")[-1].rstrip("0123456789") for n in df.imagename]
        df2 = df.loc[df.category != df.correct_texture]
        shape = len(df2.loc[df2.object_response == df2.category]) / len(df)
        texture = len(df2.loc[df2.object_response == df2.correct_texture]) / len(df)
        counts = trial_counts([str(path)]).iloc[0]
        assert counts["shape_decisions"] / len(df) == shape and counts["texture_decisions"] / len(df) == texture


def test_the_counts_table_round_trips_and_names_its_inputs(checkout, tmp_path):
    out = tmp_path / "counts.csv"
    result = CliRunner().invoke(cli, ["leaderboard-import", "model-vs-human", str(checkout), "--commit", "93ee676",
                                      "--counts", str(out), "--out", str(tmp_path / "rows.csv")])
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {tmp_path / 'rows.csv'} (4 reported row(s), 2 at the benchmark protocol)\n"
    counts = read_counts(str(out)).set_index("decision_maker")
    assert list(counts.loc["resnet50", ["trials", "conflict_trials", "shape_decisions", "texture_decisions"]]) == [5, 4, 2, 1]
    import hashlib

    raw = checkout / "raw-data" / "cue-conflict" / "cue-conflict_resnet50_session-1.csv"
    assert counts.loc["resnet50", "sha256"] == hashlib.sha256(raw.read_bytes()).hexdigest()
    from_counts = read_model_vs_human([str(out)], MANIFEST)
    pd.testing.assert_frame_equal(from_counts, read_model_vs_human([str(checkout)], MANIFEST))
    assert "attach_to" not in load_reported(str(tmp_path / "rows.csv")).columns  # a valid reported.csv


@pytest.mark.parametrize("body,message", [
    ("subj,category\nx,cat\n", "missing column(s) imagename, object_response"),
    (HEADER, "no trials"),
    (HEADER + "a,1,1,NaN,cat,cat,NaN,cat1-dog1.png\nb,1,2,NaN,cat,cat,NaN,cat1-dog1.png\n", "one decision maker per file"),
    (HEADER + "a,1,1,NaN,cat,cat,NaN,cat1-zebra1.png\n", "trial row 1 has shape 'cat' and texture 'zebra'"),
])
def test_a_bad_trial_file_is_one_line_naming_it(tmp_path, body, message):
    path = tmp_path / "cue-conflict_a_session-1.csv"
    path.write_text(body)
    with pytest.raises(RecordError) as info:
        read_model_vs_human([str(path)], MANIFEST)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value) and "\n" not in str(info.value)


def test_missing_or_wrong_inputs_are_one_line(tmp_path):
    with pytest.raises(RecordError, match="no cue-conflict_\\*.csv trial files here"):
        read_model_vs_human([str(tmp_path)], MANIFEST)
    other = tmp_path / "results.txt"
    other.write_text("x")
    with pytest.raises(RecordError, match="not a model-vs-human cue-conflict trial file"):
        read_model_vs_human([str(other)], MANIFEST)
    bad = tmp_path / "counts.csv"
    bad.write_text("decision_maker,file,sha256,trials,conflict_trials,shape_decisions,texture_decisions\n"
                   "resnet50,f.csv,ab,10,4,3,2\n")
    with pytest.raises(RecordError, match="data row 1 \\('resnet50'\\): counts do not add up"):
        read_counts(str(bad))


def robustbench_file(folder, name, **fields):
    info = {"link": "https://arxiv.org/abs/1912.02781", "name": "AugMix", "authors": "D. Hendrycks et al.",
            "additional_data": False, "number_forward_passes": 1, "dataset": "imagenet", "venue": "ICLR 2020",
            "architecture": "ResNet-50", "eps": None, "clean_acc": "77.34", "reported": "", "corruptions_acc": "49.33",
            "corruptions_mce": "64.17", "corruptions_acc_3d": "53.48", "corruptions_mce_3d": "64.64"}
    info.update(fields)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(info))
    return folder / f"{name}.json"


def test_robustbench_rows_have_their_own_protocol_and_the_numbers_as_percent(tmp_path):
    folder = tmp_path / "robustbench" / "model_info" / "imagenet" / "corruptions"
    robustbench_file(folder, "Hendrycks2020AugMix")
    robustbench_file(folder, "Standard_R50", corruptions_acc_3d=None, corruptions_mce_3d=None, footnote="torchvision")
    (folder / "unaggregated_results.csv").write_text("ignored\n")
    rows = read_robustbench([str(tmp_path / "robustbench")], {"commit": "78fcc9e"}).set_index("model")
    augmix = rows.loc["Hendrycks2020AugMix"]
    assert (augmix["imagenet_top1"], augmix["imagenet_c_mean_error"], augmix["imagenet_c_mce"]) == (77.34, 50.67, 64.17)
    assert augmix["imagenet_3dcc_mean_error"] == 46.52 and augmix["protocol"] == PROTOCOL
    assert augmix["notes"] == "ResNet-50: AugMix (ICLR 2020); 3DCC mCE 64.64" and "78fcc9e" in augmix["source_url"]
    assert pd.isna(rows.loc["Standard_R50", "imagenet_3dcc_mean_error"]) and rows.loc["Standard_R50", "notes"].endswith("torchvision")


@pytest.mark.parametrize("fields,message", [
    ({"clean_acc": None}, "missing field(s) clean_acc"),
    ({"dataset": "cifar10"}, "dataset 'cifar10', not 'imagenet'"),
    ({"corruptions_acc": "n/a"}, "corruptions_acc 'n/a' is not a number"),
    ({"clean_acc": "176.5"}, "clean_acc 176.5 is outside 0-100"),
])
def test_a_bad_robustbench_file_is_one_line_naming_it(tmp_path, fields, message):
    path = robustbench_file(tmp_path, "M", **fields)
    with pytest.raises(RecordError) as info:
        read_robustbench([str(path)], {"commit": "c"})
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value) and "\n" not in str(info.value)


def test_attach_moves_cells_onto_the_target_row_and_keeps_a_lone_row():
    rows = pd.DataFrame([
        {"model": "resnet50.tv_in1k", "source": "timm", "imagenet_top1": 76.156, "protocol": "", "citation": "timm",
         "source_url": "u", "notes": "img_size 224", "attach_to": None},
        {"model": "resnet50.tv_in1k", "source": "model-vs-human", "cue_conflict_shape_bias": 21.42, "protocol": "",
         "citation": "mvh", "source_url": "v", "notes": "169 shape", "attach_to": "timm"},
        {"model": "vit_x", "source": "model-vs-human", "cue_conflict_shape_bias": 40.0, "protocol": "", "citation": "mvh",
         "source_url": "v", "notes": "n", "attach_to": "timm"}])
    out = attach(rows).set_index("model")
    assert len(out) == 2 and "attach_to" not in out.columns
    r50 = out.loc["resnet50.tv_in1k"]
    assert (r50["imagenet_top1"], r50["cue_conflict_shape_bias"]) == (76.156, 21.42)
    assert r50["source"] == "timm + model-vs-human (Shape bias)"
    assert r50["notes"] == "img_size 224; Shape bias from model-vs-human: 169 shape" and r50["citation"] == "timm; mvh"
    assert out.loc["vit_x", "source"] == "model-vs-human"  # no timm row of it: its own row


def test_the_committed_imports_build_with_provenance(tmp_path):
    sources = {s.name: s for s in load_imported(os.path.join(BOARD, "imported"))}
    assert sorted(sources) == ["hendrycks-robustness", "model-vs-human", "robustbench", "timm"]
    for source in sources.values():
        assert os.path.isfile(os.path.join(source.folder, source.manifest["licence_file"]))
    mvh = sources["model-vs-human"].rows.set_index("model")
    assert mvh.loc["resnet50.tv_in1k", "cue_conflict_shape_bias"] == 21.42  # 169 / (169 + 620)
    assert round(mvh.loc[HUMANS, "cue_conflict_shape_bias"], 2) == 95.87 and "per observer 91.9-98.7%" in mvh.loc[HUMANS, "notes"]
    assert len(sources["robustbench"].rows) == 12
    board = generate(os.path.join(BOARD, "entries"), os.path.join(BOARD, "reported.csv"), str(tmp_path / "README.md"),
                     imported=os.path.join(BOARD, "imported"))
    standard = board.markdown.split("\n## Standard protocol\n", 1)[1].split("\n## ", 1)[0]
    cells = [[c.strip() for c in l.split("|")[1:-1]] for l in standard.splitlines() if l.startswith("| ")]
    header, r50 = cells[0], next(c for c in cells if c[0] == "resnet50.tv_in1k")
    bias = next(i for i, h in enumerate(header) if h.startswith("Shape bias"))
    assert r50[1] == "reported: timm + model-vs-human (Shape bias)" and r50[2].startswith("76.2 ± 0.4")
    assert r50[bias] == "21.4"  # no interval: a published shape bias gives no counts
    assert next(c for c in cells if c[0] == HUMANS)[bias] == "**95.9**"
    robust = board.markdown.split(f"\n## Separate protocol: reported under: {PROTOCOL}\n", 1)[1].split("\n## ", 1)[0]
    assert "| Standard_R50 " in robust and "60.5" in robust  # 100 - 39.48, never beside full-set rows
    assert "reported: robustbench" not in standard


def test_the_readme_folds_the_many_sections_of_one_source_into_one_summary(tmp_path):
    board = generate(os.path.join(BOARD, "entries"), os.path.join(BOARD, "reported.csv"), str(tmp_path / "README.md"),
                     imported=os.path.join(BOARD, "imported"))
    md = board.markdown
    assert "## Separate protocol: reported under: timm validate.py" not in md
    summary = md.split("\n## Other protocols of timm: 36 sections\n", 1)[1].split("\n## ", 1)[0]
    lines = [l for l in summary.splitlines() if l.startswith("| timm validate.py")]
    assert len(lines) == 36 and sum(int(l.split("|")[3]) for l in lines) == 773
    at_448 = next(l for l in lines if "at 448 px" in l)
    assert "eva02_large_patch14_448.mim_m38m_ft_in22k_in1k" in at_448 and "90.1" in at_448
    assert "[section](index.html#reported-timm-validate-py-at-448-px-input)" in at_448
    assert f"## Separate protocol: reported under: {PROTOCOL}" in md and f"reported under: {UPSAMPLED}" in md
    from robench.leaderboard.html_page import page_html

    page = page_html(board)
    assert page.count('<h2 id="reported-timm-validate-py-at-') == 36 and "Other protocols of timm" not in page
    assert '<li><a href="#reported-timm-validate-py-at-448-px-input">' in page  # in the page's section list
    assert len(md) < 60_000


def test_the_shipped_robustbench_files_mean_what_the_importer_says():
    """corruptions_acc is the mean accuracy over the 75 cells of unaggregated_results.csv (the 5,000-image
    subset), and AlexNet is the mCE normaliser (100): the reading the section title states."""
    folder = os.path.join(BOARD, "imported", "robustbench")
    manifest = json.load(open(os.path.join(folder, "import.json"), encoding="utf-8"))
    rows = read_robustbench([os.path.join(folder, f) for f in manifest["files"]], manifest).set_index("model")
    cells = pd.read_csv(os.path.join(folder, "unaggregated_results.csv"), header=[0, 1], index_col=0)
    assert len(cells.columns) == 75 and set(cells.index) == set(rows.index)
    for model, accuracy in cells.mean(axis=1).items():
        assert abs(100 * (1 - accuracy) - rows.loc[model, "imagenet_c_mean_error"]) < 0.006, model
    assert rows.loc["AlexNet", "imagenet_c_mce"] == 100.0 and rows.loc["Standard_R50", "imagenet_top1"] == 76.72
    assert (rows["protocol"] == PROTOCOL).all()


def test_a_section_with_a_reported_csv_row_is_shown_not_folded(tmp_path):
    reported = tmp_path / "reported.csv"
    with open(os.path.join(BOARD, "reported.csv"), encoding="utf-8") as f:
        text = f.read()
    reported.write_text(text + "my_net,mine,85.0,,,,,,,,,timm validate.py at 448 px input,,,\n", encoding="utf-8")
    board = generate(os.path.join(BOARD, "entries"), str(reported), str(tmp_path / "README.md"),
                     imported=os.path.join(BOARD, "imported"))
    assert "\n## Separate protocol: reported under: timm validate.py at 448 px input\n" in board.markdown
    assert "\n## Other protocols of timm: 35 sections\n" in board.markdown
    at_448 = board.markdown.split("at 448 px input\n", 1)[1].split("\n## ", 1)[0]
    assert "| my_net " in at_448 and "eva02_large_patch14_448.mim_m38m_ft_in22k_in1k" in at_448


def test_every_shipped_decision_maker_is_mapped_and_the_timm_identities_exist():
    from robench.leaderboard.import_model_vs_human import MODELS

    counts = read_counts(os.path.join(BOARD, "imported", "model-vs-human", "cue-conflict-counts.csv"))
    models = sorted(n for n in counts["decision_maker"] if not n.startswith("subject-"))
    assert models == sorted(MODELS) and len(counts) == 19  # nine models, ten observers: nothing unreviewed
    timm = set(pd.read_csv(os.path.join(BOARD, "imported", "timm", "results-imagenet.csv"))["model"])
    named = {row for row, _, _, _ in MODELS.values() if "." in row}  # rows named by a timm identity
    assert named == {"resnet50.tv_in1k", "regnety_160.swag_ft_in1k", "regnety_320.swag_ft_in1k",
                     "regnety_1280.swag_ft_in1k"} and named <= timm
    standard = {name for name, (_, protocol, _, _) in MODELS.items() if protocol == ""}
    assert standard == {"resnet50", "bagnet33", "simclr_resnet50x1"}  # the rest saw upsampled stimuli
    assert {name for name, (_, _, attach_to, _) in MODELS.items() if attach_to} == {"resnet50"}


def test_the_command_offers_every_importer_and_a_humans_only_checkout_gives_one_row(tmp_path):
    from robench.commands.leaderboard_import import SOURCES
    from robench.leaderboard.importers import IMPORTERS

    assert SOURCES == list(IMPORTERS)
    raw = tmp_path / "master" / "raw-data" / "cue-conflict"  # model-vs-human's master: the observers only
    trials(raw, "subject-01", HUMAN_1, "session_1")
    rows = read_model_vs_human([str(tmp_path / "master" / "raw-data")], MANIFEST)
    assert list(rows["model"]) == [HUMANS] and list(rows["cue_conflict_shape_bias"]) == [100.0]


def test_a_manifest_naming_a_missing_licence_file_is_one_line(tmp_path):
    import shutil

    target = tmp_path / "imported"
    shutil.copytree(os.path.join(BOARD, "imported", "robustbench"), target / "robustbench")
    (target / "robustbench" / "LICENSE").unlink()
    with pytest.raises(RecordError) as info:
        load_imported(str(target))
    assert str(info.value) == (f"{target / 'robustbench' / 'import.json'}: names licence file "
                               f"{target / 'robustbench' / 'LICENSE'}, which does not exist")
