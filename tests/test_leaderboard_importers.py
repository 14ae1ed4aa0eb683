"""Importing timm's published results (the files shipped under leaderboard/imported/timm/, copied from
huggingface/pytorch-image-models results/ at commit aa4b585) into reported rows."""
import os

import pytest
from click.testing import CliRunner

from robench.cli import cli
from robench.errors import RecordError
from robench.leaderboard.importers import TIMM_FILES, read_timm
from robench.leaderboard.load import load_reported

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMM = os.path.join(ROOT, "leaderboard", "imported", "timm")
COMMIT = "aa4b5850c1543fa488abf260f18390eda46cf85d"
HEADER = "model,img_size,top1,top1_err,top5,top5_err,param_count,crop_pct,interpolation\n"


def shipped():
    return [os.path.join(TIMM, name) for name in sorted(TIMM_FILES)]


def test_every_shipped_file_maps_to_its_column_with_source_and_protocol():
    rows = read_timm(shipped(), COMMIT)
    assert len(rows) == 1557 and int((rows["protocol"] == "").sum()) == 784
    r50 = rows[rows["model"] == "resnet50.tv_in1k"].iloc[0]
    assert (r50["imagenet_top1"], r50["imagenet_r_top1"], r50["imagenet_val_r200_top1"]) == (76.156, 36.157, 92.15)
    assert (r50["imagenet_val_a200_top1"], r50["sketch_top1"], r50["imagenet_v2_matched_frequency_top1"]) == (91.89, 24.064, 63.19)
    assert r50["params_m"] == 25.56 and r50["protocol"] == "" and r50["source"] == "timm"
    assert r50["notes"] == "img_size 224, crop_pct 0.875, bilinear (timm's own preprocessing)"
    assert COMMIT in r50["source_url"]
    eva = rows[rows["model"] == "eva02_large_patch14_448.mim_m38m_ft_in22k_in1k"].iloc[0]
    assert eva["protocol"] == "timm validate.py at 448 px input" and eva["imagenet_top1"] == 90.056
    giant = rows[rows["model"] == "eva_giant_patch14_336.clip_ft_in1k"].iloc[0]
    assert giant["params_m"] == 1013.01  # "1,013.01" in the CSV


def test_the_command_writes_rows_that_the_leaderboard_reads(tmp_path):
    out = tmp_path / "timm.csv"
    result = CliRunner().invoke(cli, ["leaderboard-import", "timm", *shipped(), "--commit", COMMIT, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {out} (1557 reported row(s), 784 at the benchmark protocol)\n"
    table = load_reported(str(out))
    assert len(table) == 1557
    assert table.loc[table["model"] == "resnet50.tv_in1k", "imagenet_r_top1"].iloc[0] == 36.157


@pytest.mark.parametrize("name,body,message", [
    ("results-imagenet-real.csv", HEADER, "not a timm results file robench imports"),
    ("results-imagenet.csv", "model,top1\nx,1\n", "missing column(s) img_size, param_count, crop_pct, interpolation"),
    ("results-imagenet.csv", HEADER + "m,224,seventy,0,0,0,1,0.9,bicubic\n", "data row 1 ('m') has a value that is not a number"),
    ("results-imagenet.csv", HEADER + "m,224,170,0,0,0,1,0.9,bicubic\n", "top1 170.0 is outside 0-100"),
    ("results-imagenet.csv", HEADER + "m,224,70,0,0,0,1,0.9,bicubic\nm,224,71,0,0,0,1,0.9,bicubic\n",
     "data row 2 repeats model 'm' at 224 px"),
])
def test_a_bad_timm_file_is_one_line_naming_it(tmp_path, name, body, message):
    path = tmp_path / name
    path.write_text(body)
    with pytest.raises(RecordError) as info:
        read_timm([str(path)], COMMIT)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)
    assert "\n" not in str(info.value)
