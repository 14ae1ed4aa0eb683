"""Protocol honesty: records made with bf16 or with a preprocessing override are real engine records
that the leaderboard puts in their own, named sections, never beside the standard protocol's rows."""
import os

from engine_support import ORACLE
from robench.engine import EvalOptions, evaluate_suite
from robench.leaderboard import generate
from robench.models import load_model

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "leaderboard")


def test_bf16_and_crop_pct_records_land_in_separate_named_sections(clean_root, tmp_path):
    entries = tmp_path / "entries"
    runs = {"plain": ({}, "fp32"), "bf16": ({}, "bf16"), "crop": ({"crop_pct": 0.95}, "fp32")}
    for name, (overrides, precision) in runs.items():
        model = load_model(f"{name}={ORACLE}", **overrides)
        evaluate_suite([model], "imagenet", clean_root, entries,
                 options=EvalOptions(batch_size=16, workers=0, progress=False, precision=precision))
    board = generate(str(entries), os.path.join(DATA, "reported.csv"), str(tmp_path / "README.md"))
    assert board.problems == []
    sections = {}
    for part in board.markdown.split("\n## ")[1:]:
        title, _, body = part.partition("\n")
        models = [line.split("|")[1].strip() for line in body.splitlines()
                  if line.startswith("| ") and "measured by robench" in line]
        sections.update({m: title for m in models})
    assert set(sections) == {"plain", "bf16", "crop"}
    assert len(set(sections.values())) == 3  # three protocols, three sections
    assert "bf16 inference (the benchmark: fp32)" in sections["bf16"]
    assert "preprocessing overridden (crop_pct=0.95), not the model's own" in sections["crop"]
    assert "bf16" not in sections["plain"] and "overridden" not in sections["plain"]
