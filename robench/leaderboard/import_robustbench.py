"""RobustBench's ImageNet corruption leaderboard (``model_info/imagenet/corruptions/*.json``) -> reported rows.

RobustBench evaluates ImageNet models on 5,000 images only: a fixed subset of the ImageNet validation
set for clean accuracy (resize 256 + center crop 224, or the model's own preprocessing) and the same
5,000 images of each ImageNet-C (and ImageNet-3DCC) corruption and severity, resized to 224 x 224
(``robustbench/eval.py``, ``data.py``). Its ``corruptions_acc`` is the mean accuracy over the 15 x 5
cells; its ``corruptions_mce`` divides each corruption's mean error by AlexNet's on the same subset
(RobustBench's own AlexNet run, the ``AlexNet`` row, mCE 100), not by Hendrycks & Dietterich's
full-set AlexNet errors. None of these numbers is a full-ImageNet-C number, so every row goes to one
section of its own protocol (``PROTOCOL``), never beside full-set rows.
"""
import json
import os

import pandas as pd

from robench.errors import RecordError

SOURCE = "robustbench"
URL = "https://github.com/RobustBench/robustbench/tree/{commit}/model_info/imagenet/corruptions"
CITATION = ("F. Croce et al. RobustBench: a standardized adversarial robustness benchmark. NeurIPS 2021 Datasets "
            "and Benchmarks (RobustBench/robustbench model_info/imagenet/corruptions)")
PROTOCOL = ("RobustBench: its 5,000-image subset of ImageNet val and of each ImageNet-C/3DCC cell (resized to "
            "224 x 224); mCE normalised by its own AlexNet on that subset")
FOLDER = ("model_info", "imagenet", "corruptions")
REQUIRED = ("name", "dataset", "architecture", "clean_acc", "corruptions_acc", "corruptions_mce")
COLUMNS = ["model", "source", "imagenet_top1", "imagenet_c_mean_error", "imagenet_c_mce", "imagenet_3dcc_mean_error",
           "params_m", "protocol", "citation", "source_url", "notes"]
ERRORS_OF_ALEXNET = ("corruptions_mce", "corruptions_mce_3d")  # relative to AlexNet's: may exceed 100


def model_files(paths):
    """The model JSON files of ``paths``: files as given, and in a folder (a RobustBench checkout, or its
    model_info/imagenet/corruptions) every ``*.json``, sorted by name."""
    out = []
    for path in paths:
        if os.path.isdir(path):
            folder = os.path.join(path, *FOLDER) if os.path.isdir(os.path.join(path, *FOLDER)) else path
            found = [os.path.join(folder, n) for n in sorted(os.listdir(folder))
                     if n.endswith(".json") and n != "import.json"]  # not robench's manifest of a shipped copy
            if not found:
                raise RecordError(f"{path}: no model JSON files here or in {'/'.join(FOLDER)}/ (expected a "
                                  "RobustBench/robustbench checkout or its model_info/imagenet/corruptions folder)")
            out += found
        elif path.endswith(".json"):
            out.append(path)
        else:
            raise RecordError(f"{path}: not a RobustBench model JSON file "
                              "(model_info/imagenet/corruptions/<model>.json)")
    return out


def read_robustbench(paths, manifest):
    """Reported rows from RobustBench ImageNet corruption JSONs: ``imagenet_top1`` the clean accuracy on the
    5,000 images, ``imagenet_c_mean_error`` 100 - corruptions_acc, ``imagenet_c_mce`` corruptions_mce,
    ``imagenet_3dcc_mean_error`` 100 - corruptions_acc_3d (when given); the rest in the notes."""
    rows = []
    for path in model_files(paths):
        info = _read(path)
        clean, acc, mce = (_number(info, k, path) for k in ("clean_acc", "corruptions_acc", "corruptions_mce"))
        acc_3d = _number(info, "corruptions_acc_3d", path, optional=True)
        mce_3d = _number(info, "corruptions_mce_3d", path, optional=True)
        venue = f" ({info['venue']})" if info.get("venue") not in (None, "", "N/A") else ""
        notes = [f"{info['architecture']}: {info['name']}{venue}",
                 f"3DCC mCE {mce_3d:g}" if mce_3d is not None else "",
                 "extra training data" if info.get("additional_data") else "",
                 str(info.get("footnote") or "").strip()]
        rows.append({
            "model": os.path.splitext(os.path.basename(path))[0], "source": SOURCE, "imagenet_top1": clean,
            "imagenet_c_mean_error": round(100 - acc, 3), "imagenet_c_mce": mce,
            "imagenet_3dcc_mean_error": None if acc_3d is None else round(100 - acc_3d, 3), "params_m": None,
            "protocol": PROTOCOL, "citation": CITATION, "source_url": URL.format(commit=manifest["commit"]),
            "notes": "; ".join(p for p in notes if p)})
    return pd.DataFrame(rows, columns=COLUMNS)


def _read(path):
    try:
        with open(path, encoding="utf-8") as f:
            info = json.load(f)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise RecordError(f"{path}: not a readable JSON file ({e})") from None
    if not isinstance(info, dict):
        raise RecordError(f"{path}: not a RobustBench model file (expected a JSON object)")
    missing = [k for k in REQUIRED if info.get(k) in (None, "")]
    if missing:
        raise RecordError(f"{path}: missing field(s) {', '.join(missing)} (a RobustBench model file has "
                          f"{', '.join(REQUIRED)}, ...)")
    if info["dataset"] != "imagenet":
        raise RecordError(f"{path}: dataset {info['dataset']!r}, not 'imagenet' (robench imports RobustBench's "
                          "ImageNet corruption leaderboard only)")
    return info


def _number(info, key, path, optional=False):
    """A percent value; RobustBench stores them as strings ("76.72")."""
    value = info.get(key)
    if optional and value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RecordError(f"{path}: {key} {value!r} is not a number") from None
    if number < 0 or (number > 100 and key not in ERRORS_OF_ALEXNET):
        raise RecordError(f"{path}: {key} {number} is outside 0-{'inf' if key in ERRORS_OF_ALEXNET else 100} "
                          "(values are percent)")
    return number
