"""Published results turned into reported rows (the ``reported.csv`` shape), with their provenance.

Hand-copying hundreds of numbers invites typos; these readers take the publisher's own files, as shipped
under ``leaderboard/imported/`` (so the leaderboard builds offline), and map their metric names to the
leaderboard's column ids. Each row keeps its source (repository, file, commit) and its protocol: timm
evaluates every model at its own ``img_size``, ``crop_pct`` and ``interpolation``; a row at 224 px with
the model's own preprocessing is the benchmark protocol, any other size is a protocol of its own.
"""
import os

import pandas as pd

from robench.errors import RecordError
from robench.leaderboard.columns import PAPER_INPUT_SIZE

TIMM_REPOSITORY = "huggingface/pytorch-image-models"
TIMM_URL = "https://github.com/huggingface/pytorch-image-models/tree/{commit}/results"
TIMM_CITATION = "R. Wightman. PyTorch Image Models (timm), results/ (validate.py)"
# timm results file -> robench column id. timm masks the logits of ImageNet-R and -A to their 200 classes
# (validate.py --valid-labels), as robench does: resnet50.tv_in1k's 36.157% on R is Hendrycks et al.'s
# 200-class 63.9% error. The ReaL-labels file has no robench column and is not imported.
TIMM_FILES = {
    "results-imagenet.csv": "imagenet_top1",
    "results-imagenet-r.csv": "imagenet_r_top1",
    "results-imagenet-r-clean.csv": "imagenet_val_r200_top1",
    "results-imagenet-a.csv": "imagenet_a_top1",
    "results-imagenet-a-clean.csv": "imagenet_val_a200_top1",
    "results-sketch.csv": "sketch_top1",
    "results-imagenetv2-matched-frequency.csv": "imagenet_v2_matched_frequency_top1",
}
TIMM_COLUMNS = ("model", "img_size", "top1", "param_count", "crop_pct", "interpolation")


def timm_protocol(img_size):
    """A timm row's protocol cell: empty (the benchmark protocol) at 224 px, else the size it names."""
    return "" if int(img_size) == PAPER_INPUT_SIZE else f"timm validate.py at {int(img_size)} px input"


def read_timm(paths, commit):
    """Reported rows (a DataFrame in reported.csv's columns) from timm results CSVs: one row per
    (model, image size), each file's top-1 in its column, ``source`` "timm", the commit in the URL."""
    rows = {}
    for path in paths:
        name = os.path.basename(path)
        if name not in TIMM_FILES:
            raise RecordError(f"{path}: not a timm results file robench imports (expected one of "
                              f"{', '.join(sorted(TIMM_FILES))})")
        column_id = TIMM_FILES[name]
        table = _read_csv(path)
        for i, r in table.iterrows():
            try:
                size, top1 = int(r["img_size"]), float(r["top1"])
                params = float(str(r["param_count"]).replace(",", "")) if r["param_count"] else None
                crop = float(r["crop_pct"])
            except ValueError:
                raise RecordError(f"{path}: data row {i + 1} ({r['model']!r}) has a value that is not a number") from None
            if not 0 <= top1 <= 100:
                raise RecordError(f"{path}: data row {i + 1} ({r['model']!r}): top1 {top1} is outside 0-100")
            row = rows.setdefault((r["model"], size), {
                "model": r["model"], "source": "timm", "params_m": params, "protocol": timm_protocol(size),
                "citation": TIMM_CITATION, "source_url": TIMM_URL.format(commit=commit),
                "notes": f"img_size {size}, crop_pct {crop:g}, {r['interpolation']} (timm's own preprocessing)"})
            if column_id in row:
                raise RecordError(f"{path}: data row {i + 1} repeats model {r['model']!r} at {size} px")
            row[column_id] = top1
    ordered = sorted(rows.values(), key=lambda row: (row["protocol"], row["model"]))
    columns = ["model", "source", *[c for c in TIMM_FILES.values() if any(c in row for row in ordered)],
               "params_m", "protocol", "citation", "source_url", "notes"]
    return pd.DataFrame(ordered, columns=columns)


def _read_csv(path):
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, ValueError) as e:
        raise RecordError(f"{path}: not a readable timm results CSV ({e})") from None
    missing = [c for c in TIMM_COLUMNS if c not in table.columns]
    if missing:
        raise RecordError(f"{path}: missing column(s) {', '.join(missing)} (a timm results CSV has "
                          f"{', '.join(TIMM_COLUMNS)}, ...)")
    return table
