"""Measured beside reported: a measured and a reported row of one model show their difference, and a
difference beyond the tolerance is flagged. The frames stand in for tables.main_rows of a section that
holds a robench record of deit_small_patch16_224 and the paper's reported row."""
import pandas as pd

from robench.leaderboard.reproduction import MATCH, MISMATCH, TOLERANCE, reproduction_frame, reproduction_markdown


def section(measured_top1, name="deit_small_patch16_224"):
    return pd.DataFrame([
        {"section": (), "model": name, "identity": (name, "ab"), "kind": 0, "source": "measured by robench",
         "params_m": 22.05, "imagenet_top1": measured_top1, "imagenet_r_top1": None},
        {"section": (), "model": name, "identity": (name, ""), "kind": 1, "source": "reported: paper",
         "params_m": 22.05, "imagenet_top1": 79.8, "imagenet_r_top1": 41.9},
        {"section": (), "model": "other", "identity": ("other", ""), "kind": 1, "source": "reported: paper",
         "params_m": None, "imagenet_top1": 70.0, "imagenet_r_top1": None},
    ])


def test_a_reproduction_within_tolerance_matches_and_a_larger_gap_is_flagged():
    close = reproduction_frame(section(79.9))
    assert list(close["Column"]) == ["ImageNet"]  # R: only the reported row has it; "other": not measured
    assert round(close["Difference"].iloc[0], 9) == 0.1 and close["Check"].iloc[0] == MATCH
    far = reproduction_frame(section(79.8 - TOLERANCE - 0.01))
    assert round(far["Difference"].iloc[0], 9) == -0.51 and far["Check"].iloc[0] == MISMATCH
    assert reproduction_frame(section(None)) is None


def test_a_hostile_name_stays_one_cell():
    text = reproduction_markdown(reproduction_frame(section(79.9, name="a|b<script>")))
    row = text.splitlines()[2]
    assert "<script>" not in row and "a\\|b&lt;script&gt;" in row
    assert row.count("|") - row.count("\\|") == 8  # 7 cells
