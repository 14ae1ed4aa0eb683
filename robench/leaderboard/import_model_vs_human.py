"""model-vs-human's cue-conflict trials -> shape-bias rows, computed with robench's own definition.

bethgelab/model-vs-human publishes no table of shape bias: it publishes trial files
(``raw-data/cue-conflict/cue-conflict_<decision maker>_session-<n>.csv``: one row per stimulus with the
observer's or model's 16-way ``object_response``, the shape ``category`` and the ``imagename``) and
computes shape bias from them when it draws its figures. robench counts the same trials with
``robench.metrics.cue_conflict.shape_bias`` (the function its ``cue_conflict`` metric uses): texture from
the image name, shape from ``category``, trials whose shape equals their texture left out, a response that
is neither (e.g. a human's ``na``) counted for neither; shape bias = shape / (shape + texture decisions).
That is model-vs-human's ``ShapeBias.analysis`` (``modelvshuman/plotting/analyses.py``) term by term.

The raw trials carry no licence of their own (the repository licenses its code MIT and its stimuli
CC-BY-4.0), so the leaderboard ships only the counts derived from them, with each trial file's SHA-256
(``write_counts``); ``read_model_vs_human`` reads either those counts or a checkout's trial files in place.

Which model-vs-human decision maker is which leaderboard model, and under which protocol, is the
explicit table ``MODELS``; a decision maker not in it gets a section of its own (its preprocessing is
whatever its wrapper in modelvshuman did, which robench has not reviewed). The ten human observers
(``subject-*``) are pooled into one row, as model-vs-human's "humans" line pools them.
"""
import os

import pandas as pd

from robench.errors import RecordError
from robench.metrics.cue_conflict import CATEGORIES, shape_bias, texture_of

SOURCE = "model-vs-human"
URL = "https://github.com/bethgelab/model-vs-human/tree/{commit}/raw-data/cue-conflict"
CITATION = ("R. Geirhos et al. Partial success in closing the gap between human and machine vision. NeurIPS 2021 "
            "(bethgelab/model-vs-human raw-data/cue-conflict; shape bias: Geirhos et al., ICLR 2019)")
COLUMN = "cue_conflict_shape_bias"  # robench's cue-conflict suite column (percent)
TRIAL_COLUMNS = ("subj", "category", "imagename", "object_response")
COUNT_COLUMNS = ("decision_maker", "file", "sha256", "trials", "conflict_trials", "shape_decisions",
                 "texture_decisions")
HUMAN_PREFIX = "subject-"
HUMANS = "humans (model-vs-human observers)"
UPSAMPLED = ("model-vs-human: the 224 px cue-conflict stimuli upsampled (bicubic resize + center crop) to the "
             "model's own input size (384-518 px)")
UNREVIEWED = ("model-vs-human: preprocessing of its model wrapper, not reviewed by robench (robench.leaderboard."
              "import_model_vs_human.MODELS)")
# model-vs-human's decision maker (the trial files' `subj`) -> (leaderboard model, protocol, source whose row
# of the same model and protocol gets the value, what the model is). Protocol "": robench's standard
# cue-conflict protocol (the 224 px stimuli as released, ImageNet mean/std), which model-vs-human's
# PyTorchModel wrapper follows (its data loader resizes only when a data set is not 224 px).
MODELS = {
    "resnet50": ("resnet50.tv_in1k", "", "timm",
                 "torchvision resnet50(pretrained=True): the IMAGENET1K_V1 weights, which timm ships as "
                 "resnet50.tv_in1k; 224 px stimuli as released"),
    "bagnet33": ("bagnet33", "", None,
                 "BagNet-33 (Brendel & Bethge, ICLR 2019), bag-of-local-features-models weights (not in timm); "
                 "224 px stimuli as released"),
    "simclr_resnet50x1": ("simclr_resnet50x1", "", None,
                          "SimCLR ResNet-50 (1x), self-supervised, linear classifier on ImageNet-1k (ptrnets "
                          "weights, not in timm); 224 px stimuli as released"),
    "swag_regnety_16gf_in1k": ("regnety_160.swag_ft_in1k", UPSAMPLED, None,
                               "SWAG RegNetY-16GF fine-tuned on ImageNet-1k (torch hub facebookresearch/swag "
                               "regnety_16gf_in1k, the weights of timm's regnety_160.swag_ft_in1k) at 384 px"),
    "swag_regnety_32gf_in1k": ("regnety_320.swag_ft_in1k", UPSAMPLED, None,
                               "SWAG RegNetY-32GF fine-tuned on ImageNet-1k (facebookresearch/swag regnety_32gf_in1k, "
                               "the weights of timm's regnety_320.swag_ft_in1k) at 384 px"),
    "swag_regnety_128gf_in1k": ("regnety_1280.swag_ft_in1k", UPSAMPLED, None,
                                "SWAG RegNetY-128GF fine-tuned on ImageNet-1k (facebookresearch/swag "
                                "regnety_128gf_in1k, the weights of timm's regnety_1280.swag_ft_in1k) at 384 px"),
    "swag_vit_b16_in1k": ("swag_vit_b16_in1k", UPSAMPLED, None,
                          "SWAG ViT-B/16 fine-tuned on ImageNet-1k (facebookresearch/swag vit_b16_in1k; torchvision "
                          "ViT_B_16_Weights.IMAGENET1K_SWAG_E2E_V1; not in timm) at 384 px"),
    "swag_vit_l16_in1k": ("swag_vit_l16_in1k", UPSAMPLED, None,
                          "SWAG ViT-L/16 fine-tuned on ImageNet-1k (facebookresearch/swag vit_l16_in1k; torchvision "
                          "ViT_L_16_Weights.IMAGENET1K_SWAG_E2E_V1; not in timm) at 512 px"),
    "swag_vit_h14_in1k": ("swag_vit_h14_in1k", UPSAMPLED, None,
                          "SWAG ViT-H/14 fine-tuned on ImageNet-1k (facebookresearch/swag vit_h14_in1k; torchvision "
                          "ViT_H_14_Weights.IMAGENET1K_SWAG_E2E_V1; not in timm) at 518 px"),
}


def trial_files(paths):
    """The cue-conflict trial files of ``paths``: files as given, and in a folder (a model-vs-human checkout,
    its ``raw-data``, or ``raw-data/cue-conflict``) every ``cue-conflict_*.csv``, sorted by name."""
    out = []
    for path in paths:
        if os.path.isdir(path):
            folder = next((os.path.join(path, *sub) for sub in (("raw-data", "cue-conflict"), ("cue-conflict",), ())
                           if os.path.isdir(os.path.join(path, *sub))
                           and any(_is_trial_name(n) for n in os.listdir(os.path.join(path, *sub)))), None)
            if folder is None:
                raise RecordError(f"{path}: no cue-conflict_*.csv trial files here, in raw-data/cue-conflict/ or in "
                                  "cue-conflict/ (expected a bethgelab/model-vs-human checkout or its raw-data folder)")
            out += [os.path.join(folder, n) for n in sorted(os.listdir(folder)) if _is_trial_name(n)]
        elif _is_trial_name(os.path.basename(path)):
            out.append(path)
        else:
            raise RecordError(f"{path}: not a model-vs-human cue-conflict trial file (cue-conflict_<name>_session"
                              "-<n>.csv) nor its folder")
    return out


def _is_trial_name(name):
    return name.startswith("cue-conflict_") and name.endswith(".csv")


def count_trials(path):
    """(decision maker, trials, conflict trials, shape decisions, texture decisions) of one trial file,
    counted by ``robench.metrics.cue_conflict.shape_bias``."""
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, ValueError) as e:
        raise RecordError(f"{path}: not a readable trial CSV ({e})") from None
    table.columns = [c.strip().lower() for c in table.columns]  # model-vs-human lower-cases them too
    missing = [c for c in TRIAL_COLUMNS if c not in table.columns]
    if missing:
        raise RecordError(f"{path}: missing column(s) {', '.join(missing)} (a model-vs-human trial file has "
                          f"{', '.join(TRIAL_COLUMNS)}, ...)")
    if not len(table):
        raise RecordError(f"{path}: no trials")
    names = sorted(set(table["subj"]))
    if len(names) != 1 or not names[0]:
        raise RecordError(f"{path}: one decision maker per file expected in column subj, found {names[:3]}")
    textures = [texture_of(n) for n in table["imagename"]]
    for i, (shape, texture) in enumerate(zip(table["category"], textures)):
        if shape not in CATEGORIES or texture not in CATEGORIES:
            raise RecordError(f"{path}: trial row {i + 1} has shape {shape!r} and texture {texture!r} (from "
                              f"{table['imagename'].iat[i]!r}); both must be among the 16 categories")
    result = shape_bias(table["category"], textures, table["object_response"].str.strip())
    return names[0], result.n_all, result.n_conflict, result.n_shape, result.n_texture


def trial_counts(paths):
    """The counts table (``COUNT_COLUMNS``) of the trial files under ``paths``, one row per file."""
    from robench.fileio import sha256_file

    rows = []
    for path in trial_files(paths):
        name, trials, conflict, shape, texture = count_trials(path)
        rows.append([name, os.path.basename(path), sha256_file(path), trials, conflict, shape, texture])
    if not rows:
        raise RecordError(f"no cue-conflict trial files in {', '.join(paths)}")
    return pd.DataFrame(rows, columns=list(COUNT_COLUMNS))


def read_counts(path):
    """A shipped counts table (``write_counts``' CSV); a missing column or a count that is not a whole
    number, or that does not add up (shape + texture <= conflict <= trials), is one line naming the row."""
    from robench.leaderboard.importers import read_table

    table = read_table(path, COUNT_COLUMNS, "counts CSV", "the counts table has {columns}")
    for i, row in table.iterrows():
        try:
            n = [int(row[c]) for c in COUNT_COLUMNS[3:]]
        except ValueError:
            raise RecordError(f"{path}: data row {i + 1} ({row['decision_maker']!r}) has a count that is not a "
                              "whole number") from None
        if not row["decision_maker"] or min(n) < 0 or n[2] + n[3] > n[1] or n[1] > n[0]:
            raise RecordError(f"{path}: data row {i + 1} ({row['decision_maker']!r}): counts do not add up "
                              "(shape + texture decisions <= conflict trials <= trials)")
    return table.astype({c: int for c in COUNT_COLUMNS[3:]})


def write_counts(paths, out):
    """Writes the counts table of the trial files under ``paths`` to ``out`` (the shipped derivation)."""
    from robench.fileio import atomic_write_text

    table = trial_counts(paths)
    atomic_write_text(out, table.to_csv(index=False))
    return table


def read_model_vs_human(paths, manifest):
    """Reported rows (reported.csv's columns plus ``attach_to``) from counts tables or trial files/folders:
    one row per model (``MODELS``) and one pooled human row, ``cue_conflict_shape_bias`` in percent."""
    parts = []
    for path in paths:
        if not os.path.isdir(path) and not _is_trial_name(os.path.basename(path)) and path.endswith(".csv"):
            parts.append(read_counts(path))
        else:
            parts.append(trial_counts([path]))
    counts = pd.concat(parts, ignore_index=True)
    return rows_of_counts(counts, manifest["commit"])


def rows_of_counts(counts, commit):
    """The leaderboard rows of a counts table: each decision maker's files summed, humans pooled."""
    summed = counts.groupby("decision_maker", sort=True)[list(COUNT_COLUMNS[3:])].sum()
    humans = summed[summed.index.str.startswith(HUMAN_PREFIX)]
    rows = []
    for name, n in summed[~summed.index.str.startswith(HUMAN_PREFIX)].iterrows():
        model, protocol, attach, what = MODELS.get(name, (name, UNREVIEWED, None, "a model robench has not mapped"))
        rows.append(_row(model, protocol, attach, n, f"model-vs-human's {name}: {what}"))
    if len(humans):
        each = sorted(_bias(n) for _, n in humans.iterrows())
        rows.append(_row(HUMANS, "", None, humans.sum(),
                         f"the {len(humans)} human observers of model-vs-human ({', '.join(humans.index)}), "
                         f"{int(humans['trials'].sum()):,} lab trials (16-way forced choice) pooled as its 'humans' "
                         f"line pools them; per observer {each[0]:.1f}-{each[-1]:.1f}%; people, not a model"))
    out = pd.DataFrame(rows)
    out["citation"], out["source_url"] = CITATION, URL.format(commit=commit)
    return out[["model", "source", COLUMN, "params_m", "protocol", "citation", "source_url", "notes", "attach_to"]]


def _bias(n):
    hits = n["shape_decisions"] + n["texture_decisions"]
    return 100.0 * n["shape_decisions"] / hits if hits else float("nan")


def _row(model, protocol, attach, n, what):
    return {"model": model, "source": SOURCE, COLUMN: round(_bias(n), 3), "params_m": None, "protocol": protocol,
            "notes": f"shape bias {n['shape_decisions']} shape / ({n['shape_decisions']} shape + "
                     f"{n['texture_decisions']} texture) decisions on {n['conflict_trials']} conflict trials of "
                     f"{n['trials']}; {what}",
            "attach_to": attach or ""}
