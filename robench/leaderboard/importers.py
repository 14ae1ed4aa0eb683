"""Published results turned into reported rows (the ``reported.csv`` shape), with their provenance.

Hand-copying hundreds of numbers invites typos; these readers take the publisher's own files, as shipped
under ``leaderboard/imported/`` (so the leaderboard builds offline), and map their metric names to the
leaderboard's column ids. Each row keeps its source (repository, file, commit) and its protocol: timm
evaluates every model at its own ``img_size``, ``crop_pct`` and ``interpolation``; a row at 224 px with
the model's own preprocessing is the benchmark protocol, any other size is a protocol of its own.
timm's and Hendrycks' readers are here; model-vs-human's (shape bias counted from its trials) and
RobustBench's (its 5,000-image ImageNet-C subset) have modules of their own, named in ``IMPORTERS``.
"""
import json
import os
import re
from dataclasses import dataclass

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
    (model, image size), each file's top-1 in its column, ``source`` "timm", the commit in the URL.
    Column-wise (pandas), so the committed leaderboard's 1,557 rows x 7 files read in well under a second."""
    meta, values = [], {}
    for path in paths:
        name = os.path.basename(path)
        if name not in TIMM_FILES:
            raise RecordError(f"{path}: not a timm results file robench imports (expected one of "
                              f"{', '.join(sorted(TIMM_FILES))})")
        column_id = TIMM_FILES[name]
        frame = _timm_numbers(_read_csv(path), path)
        earlier = values.get(column_id)
        both = pd.concat([earlier, frame]) if earlier is not None else frame
        repeated = both.duplicated(["model", "img_size"]).to_numpy()[len(both) - len(frame):]
        if repeated.any():
            i = int(repeated.argmax())
            raise RecordError(f"{path}: data row {i + 1} repeats model {frame['model'].iat[i]!r} at "
                              f"{frame['img_size'].iat[i]} px")
        values[column_id] = both
        meta.append(frame)
    if not meta:
        raise RecordError("no timm results files given")
    rows = pd.concat(meta, ignore_index=True).drop_duplicates(["model", "img_size"], keep="first")
    rows = rows.reset_index(drop=True)
    for column_id in [c for c in TIMM_FILES.values() if c in values]:
        top1 = values[column_id][["model", "img_size", "top1"]].rename(columns={"top1": column_id})
        rows = rows.merge(top1, on=["model", "img_size"], how="left", validate="one_to_one")
    out = pd.DataFrame({
        "model": rows["model"].to_numpy(), "source": "timm",
        **{cid: rows[cid].to_numpy(dtype=float) for cid in TIMM_FILES.values() if cid in values},
        "params_m": rows["params_m"].to_numpy(),
        "protocol": [timm_protocol(size) for size in rows["img_size"]],
        "citation": TIMM_CITATION, "source_url": TIMM_URL.format(commit=commit),
        "notes": [f"img_size {size}, crop_pct {crop:g}, {interp} (timm's own preprocessing)"
                  for size, crop, interp in zip(rows["img_size"], rows["crop_pct"], rows["interpolation"])]})
    keys = list(zip(out["protocol"], out["model"]))
    order = sorted(range(len(out)), key=keys.__getitem__)
    return out.iloc[order].reset_index(drop=True)


def _timm_numbers(table, path):
    """model, img_size (int), top1, params_m (float or NaN), crop_pct, interpolation of one results file;
    the first row with a value that is not a number, or a top-1 outside 0-100, is one line naming it."""
    def number(column, optional=False):
        text = table[column].str.replace(",", "", regex=False).str.strip()
        values = pd.to_numeric(text.where(text != ""), errors="coerce")
        bad = values.isna() & ((text != "") if optional else True)
        if bad.any():
            i = int(bad.to_numpy().argmax())
            raise RecordError(f"{path}: data row {i + 1} ({table['model'].iat[i]!r}) has a value that is not a number")
        return values

    size, top1, params, crop = (number("img_size"), number("top1"), number("param_count", optional=True),
                                number("crop_pct"))
    if (size != size.round()).any():
        i = int((size != size.round()).to_numpy().argmax())
        raise RecordError(f"{path}: data row {i + 1} ({table['model'].iat[i]!r}) has a value that is not a number")
    outside = (top1 < 0) | (top1 > 100)
    if outside.any():
        i = int(outside.to_numpy().argmax())
        raise RecordError(f"{path}: data row {i + 1} ({table['model'].iat[i]!r}): top1 {float(top1.iat[i])} is outside 0-100")
    return pd.DataFrame({"model": table["model"], "img_size": size.astype(int), "top1": top1.astype(float),
                         "params_m": params.astype(float), "crop_pct": crop.astype(float),
                         "interpolation": table["interpolation"]})


def _read_csv(path):
    return read_table(path, TIMM_COLUMNS, "timm results CSV", "a timm results CSV has {columns}, ...")


def read_table(path, columns, what, has):
    """A published CSV as strings (nothing turned into NaN); unreadable, or without one of ``columns``, is
    one line naming the file (``what`` it should be; ``has`` a sentence with ``{columns}``)."""
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, ValueError) as e:
        raise RecordError(f"{path}: not a readable {what} ({e})") from None
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise RecordError(f"{path}: missing column(s) {', '.join(missing)} "
                          f"({has.format(columns=', '.join(columns))})")
    return table


HENDRYCKS_URL = "https://github.com/hendrycks/robustness/blob/{commit}/README.md"
HENDRYCKS_CITATION = ("D. Hendrycks, T. Dietterich. Benchmarking Neural Network Robustness to Common Corruptions "
                      "and Perturbations. ICLR 2019 (hendrycks/robustness README, ImageNet-C Leaderboard)")
HENDRYCKS_HEADING = "## ImageNet-C Leaderboard"
HENDRYCKS_HEADER = ("Method", "Reference", "Standalone?", "mCE", "Clean Error")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def read_hendrycks_c(paths, commit):
    """Reported rows from the "ImageNet-C Leaderboard" table of hendrycks/robustness' README: one row per
    method (all ResNet-50 backbones on ImageNet-1k, 224 px), ``imagenet_c_mce`` the mCE and
    ``imagenet_top1`` 100 - the clean error, the method, reference and "Standalone?" cell in the notes."""
    rows = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise RecordError(f"{path}: not a readable README ({e})") from None
        if HENDRYCKS_HEADING not in lines:
            raise RecordError(f"{path}: no '{HENDRYCKS_HEADING}' heading (expected hendrycks/robustness' README.md)")
        table = []
        for line in lines[lines.index(HENDRYCKS_HEADING) + 1:]:
            if line.startswith("#"):
                break
            if line.strip().startswith("|"):
                table.append([cell.strip() for cell in line.strip().strip("|").split("|")])
            elif table:
                break
        if len(table) < 3 or tuple(table[0][:5]) != HENDRYCKS_HEADER:
            raise RecordError(f"{path}: the ImageNet-C leaderboard table does not have the columns "
                              f"{', '.join(HENDRYCKS_HEADER)}")
        for i, cells in enumerate(table[2:]):
            method, reference, standalone, mce, clean = (cells + [""] * 5)[:5]
            try:
                mce_value, clean_error = float(mce.rstrip("%")), float(clean.rstrip("%"))
            except ValueError:
                raise RecordError(f"{path}: leaderboard row {i + 1} ({method!r}) has a value that is not a "
                                  "number") from None
            name, cited = _LINK.sub(r"\1", method), _LINK.sub(r"\1", reference) or "none given"
            rows.append({
                "model": "ResNet-50" if name == "ResNet-50 Baseline" else f"ResNet-50 + {name}",
                "source": "hendrycks-robustness", "imagenet_top1": round(100 - clean_error, 3),
                "imagenet_c_mce": mce_value, "params_m": None, "protocol": "", "citation": HENDRYCKS_CITATION,
                "source_url": HENDRYCKS_URL.format(commit=commit),
                "notes": f"{name}: ResNet-50 backbone, ImageNet-1k, 224 px; reference {cited}; "
                         f"standalone method: {standalone}"})
    return pd.DataFrame(rows, columns=["model", "source", "imagenet_top1", "imagenet_c_mce", "params_m", "protocol",
                                       "citation", "source_url", "notes"])


# ---- the leaderboard's imported/ folder: one sub-folder per published source, read at build time ----

MANIFEST = "import.json"
IMPORTERS = {"timm": lambda paths, manifest: read_timm(paths, manifest["commit"]),
             "hendrycks-imagenet-c": lambda paths, manifest: read_hendrycks_c(paths, manifest["commit"]),
             "model-vs-human": lambda paths, manifest: _lazy("import_model_vs_human", "read_model_vs_human")(paths, manifest),
             "robustbench": lambda paths, manifest: _lazy("import_robustbench", "read_robustbench")(paths, manifest)}
MANIFEST_FIELDS = ("importer", "repository", "commit", "licence", "files")  # and optional "licence_file"


def _lazy(module, name):
    """An importer of its own module (model-vs-human's trials, RobustBench's JSONs), imported when used."""
    import importlib

    return getattr(importlib.import_module(f"robench.leaderboard.{module}"), name)


@dataclass(frozen=True, eq=False)
class Imported:
    """One shipped source: its folder, its manifest (importer, repository, commit, licence, files) and
    the reported rows the importer made of its files."""

    name: str
    folder: str
    manifest: dict
    rows: object  # DataFrame in reported.csv's columns


def load_imported(folder):
    """Every ``<folder>/<name>/import.json`` source, sorted by name; a missing folder is no sources.
    The manifest names the importer and the files it reads, so a file shipped for reference only
    (timm's ReaL-labels results) is never read; a bad manifest is one line naming it."""
    if not folder or not os.path.isdir(folder):
        return []
    out = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name, MANIFEST)
        if name.startswith(".") or not os.path.isfile(path):
            continue
        try:
            with open(path, encoding="utf-8") as f:
                manifest = json.load(f)
        except (OSError, ValueError) as e:
            raise RecordError(f"{path}: not a readable JSON manifest ({e})") from None
        missing = [k for k in MANIFEST_FIELDS if not manifest.get(k)] if isinstance(manifest, dict) else ["all"]
        if missing:
            raise RecordError(f"{path}: missing field(s) {', '.join(missing)} (an import manifest has "
                              f"{', '.join(MANIFEST_FIELDS)})")
        if manifest["importer"] not in IMPORTERS:
            raise RecordError(f"{path}: unknown importer {manifest['importer']!r} (known: {', '.join(sorted(IMPORTERS))})")
        paths = [os.path.join(folder, name, f) for f in manifest["files"]]
        if manifest.get("licence_file"):  # the publisher's licence text, shipped beside its files
            paths_licence = os.path.join(folder, name, manifest["licence_file"])
            if not os.path.isfile(paths_licence):
                raise RecordError(f"{path}: names licence file {paths_licence}, which does not exist")
        absent = [p for p in paths if not os.path.isfile(p)]
        if absent:
            raise RecordError(f"{path}: lists {absent[0]}, which does not exist")
        out.append(Imported(name, os.path.join(folder, name), manifest, IMPORTERS[manifest["importer"]](paths, manifest)))
    return out
