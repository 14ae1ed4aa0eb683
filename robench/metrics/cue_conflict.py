"""Shape bias on the cue-conflict stimuli (Geirhos et al., ICLR 2019), as bethgelab/model-vs-human computes it.

Each stimulus has the shape of one of 16 categories and the texture of another (or the same):
``<shape>/<shape><i>-<texture><j>.png``. The model's decision is the category whose MEAN softmax
probability over its ImageNet classes is highest (softmax over all 1000 logits;
model-vs-human's ``ImageNetProbabilitiesTo16ClassesMapping``). Over the images whose shape and
texture differ (1,200 of the 1,280)::

    frac_shape   = #(decision == shape)   / N_all      (N_all: every image, the 80 without conflict too)
    frac_texture = #(decision == texture) / N_all
    shape_bias   = frac_shape / (frac_shape + frac_texture)

(model-vs-human's ``ShapeBias.analysis``; decisions that are neither count for neither). Shape bias
and the two fractions are fractions (0..1), as model-vs-human reports them; ``shape_bias_pct`` is the
same number in percent, for tables of percent. The per-category shape bias groups the images by
their SHAPE category (the folder), as model-vs-human's per-category figures (``plot_shape_bias_matrixplot``,
``plot_shape_bias_boxplot``: ``df.query("category == ...")``, ``category`` being the shape) do.

The pure functions here need no torch::

    from robench.metrics import shape_bias
    shape_bias(["cat", "cat", "dog"], ["dog", "cat", "bird"], ["cat", "cat", "bird"])
    # ShapeBiasResult(shape_bias=0.5, frac_shape=1/3, frac_texture=1/3, ...)

The metric ``cue_conflict`` (class ``CueConflict``, built on first use because robench's metric
base imports torch) keeps two small count tables, so tasks, ranks and resumed runs merge by a sum:
``cue_decisions`` (16 x 16: shape category x 16-way decision, every image) and ``cue_conflict``
(16 x 3: per shape category, over the conflict images: images, shape decisions, texture decisions).

An image whose logits were NaN or infinite (scored as wrong with ``robench eval --nonfinite wrong``)
is decided as neither its shape nor its texture: the first category, in sorted order, that is
neither (``neither``). It counts against 16-way top-1 and for neither fraction of the shape bias.
"""
import os
from dataclasses import dataclass
from typing import Optional

# The 16 categories (sorted) and their ImageNet-1k class indices (0-based, torchvision/timm order), as
# model-vs-human's helper/human_categories.py lists them.
IMAGENET_INDICES = {
    "airplane": (404,),
    "bear": (294, 295, 296, 297),
    "bicycle": (444, 671),
    "bird": (8, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 22, 23, 24, 80, 81, 82, 83, 87, 88, 89, 90, 91, 92, 93,
             94, 95, 96, 98, 99, 100, 127, 128, 129, 130, 131, 132, 133, 135, 136, 137, 138, 139, 140, 141, 142,
             143, 144, 145),
    "boat": (472, 554, 625, 814, 914),
    "bottle": (440, 720, 737, 898, 899, 901, 907),
    "car": (436, 511, 817),
    "cat": (281, 282, 283, 284, 285, 286),
    "chair": (423, 559, 765, 857),
    "clock": (409, 530, 892),
    "dog": (152, 153, 154, 155, 156, 157, 158, 159, 160, 161, 162, 163, 164, 165, 166, 167, 168, 169, 170, 171,
            172, 173, 174, 175, 176, 177, 178, 179, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 190, 191,
            193, 194, 195, 196, 197, 198, 199, 200, 201, 202, 203, 205, 206, 207, 208, 209, 210, 211, 212, 213,
            214, 215, 216, 217, 218, 219, 220, 221, 222, 223, 224, 225, 226, 228, 229, 230, 231, 232, 233, 234,
            235, 236, 237, 238, 239, 240, 241, 243, 244, 245, 246, 247, 248, 249, 250, 252, 253, 254, 255, 256,
            257, 259, 261, 262, 263, 265, 266, 267, 268),
    "elephant": (385, 386),
    "keyboard": (508, 878),
    "knife": (499,),
    "oven": (766,),
    "truck": (555, 569, 656, 675, 717, 734, 864, 867),
}
CATEGORIES = tuple(sorted(IMAGENET_INDICES))
CATEGORY_INDEX = {c: i for i, c in enumerate(CATEGORIES)}
N_CATEGORIES = len(CATEGORIES)


def first_imagenet_index(category):
    """The 1k label robench gives a stimulus of shape ``category``: the first of its ImageNet indices."""
    return IMAGENET_INDICES[category][0]


def texture_of(name):
    """The texture category in a stimulus' name, model-vs-human's rule: the word after the last '-' of
    the file name, digits removed ('airplane/airplane1-bicycle2.png' -> 'bicycle')."""
    base = os.path.basename(str(name).replace("\\", "/")).split("_")[-1]
    word = base.split(".")[0].split("-")[-1]
    return "".join(ch for ch in word if not ch.isdigit())


def shape_of(name):
    """The shape category of a stimulus: its folder ('airplane/airplane1-bicycle2.png' -> 'airplane');
    without a category folder, the word before the first '-' of the file name, digits removed."""
    parts = str(name).replace("\\", "/").split("/")
    if len(parts) > 1 and parts[-2] in CATEGORY_INDEX:
        return parts[-2]
    word = parts[-1].split("_")[-1].split(".")[0].split("-")[0]
    return "".join(ch for ch in word if not ch.isdigit())


@dataclass(frozen=True)
class ShapeBiasResult:
    """Shape bias and the two fractions (0..1), model-vs-human's ``ShapeBias.analysis``, with the counts."""

    shape_bias: Optional[float]  # frac_shape / (frac_shape + frac_texture); None when both are 0
    frac_shape: Optional[float]  # conflict images decided as their shape / all images; None without images
    frac_texture: Optional[float]  # conflict images decided as their texture / all images
    n_all: int  # every image (no-conflict ones too: model-vs-human divides by len(df))
    n_conflict: int  # images whose shape and texture differ
    n_shape: int
    n_texture: int


def from_counts(n_shape, n_texture, n_all, n_conflict=None):
    """ShapeBiasResult from counts (the metric's state, a per-category row, or ``shape_bias``'s tallies)."""
    n_shape, n_texture, n_all = int(round(n_shape)), int(round(n_texture)), int(round(n_all))
    hits = n_shape + n_texture
    return ShapeBiasResult(
        shape_bias=n_shape / hits if hits else None,
        frac_shape=n_shape / n_all if n_all else None,
        frac_texture=n_texture / n_all if n_all else None,
        n_all=n_all, n_conflict=int(round(n_conflict)) if n_conflict is not None else hits, n_shape=n_shape,
        n_texture=n_texture)


def shape_bias(shapes, textures, decisions):
    """Shape bias of decisions (category names) on stimuli of the given shape and texture categories.

    Images whose shape equals their texture are dropped from the counts but not from N_all; a decision
    that is neither the shape nor the texture counts for neither (model-vs-human ``ShapeBias.analysis``).
    """
    shapes, textures, decisions = list(shapes), list(textures), list(decisions)
    if not len(shapes) == len(textures) == len(decisions):
        raise ValueError(f"shapes, textures and decisions differ in length "
                         f"({len(shapes)}, {len(textures)}, {len(decisions)})")
    conflict = [(s, t, d) for s, t, d in zip(shapes, textures, decisions) if s != t]
    return from_counts(sum(d == s for s, _, d in conflict), sum(d == t for _, t, d in conflict), len(shapes),
                       len(conflict))


def shape_bias_by_category(conflict_table):
    """{shape category: shape bias (0..1) or None} from the metric's ``cue_conflict`` table (16 rows of
    [conflict images, shape decisions, texture decisions]; nested lists or an array)."""
    rows = [list(map(float, row)) for row in (conflict_table.tolist() if hasattr(conflict_table, "tolist")
                                               else conflict_table)]
    return {c: from_counts(row[1], row[2], row[0]).shape_bias for c, row in zip(CATEGORIES, rows)}


# --- the metric (torch) ---------------------------------------------------------------------------------
_INDEX_TENSORS = None


def category_probabilities(full_logits):
    """N x 16 float64: per category, the MEAN of the 1000-way softmax probabilities of its ImageNet classes."""
    import torch

    global _INDEX_TENSORS
    if _INDEX_TENSORS is None:
        _INDEX_TENSORS = [torch.tensor(IMAGENET_INDICES[c], dtype=torch.long) for c in CATEGORIES]
    logits = torch.as_tensor(full_logits).double()
    if logits.dim() != 2 or logits.shape[1] != 1000:
        from robench.errors import RobenchError

        raise RobenchError(f"the cue-conflict decision needs 1000-way ImageNet logits (got {tuple(logits.shape)})")
    probs = logits.softmax(dim=1)
    return torch.stack([probs.index_select(1, idx).mean(dim=1) for idx in _INDEX_TENSORS], dim=1)


def decide(full_logits):
    """The 16-way decisions (category positions in ``CATEGORIES``) of a batch of 1000-way logits; ties go
    to the first category in sorted order."""
    return category_probabilities(full_logits).argmax(dim=1)


def neither(shape, texture):
    """Per image, the first category position (in ``CATEGORIES``) that is neither ``shape`` nor
    ``texture`` (long tensors of positions): the decision of an image whose logits were non-finite."""
    out = shape.new_zeros(shape.shape)
    for _ in range(2):  # 0, else 1, else 2: two categories can be taken
        out = out + ((out == shape) | (out == texture)).long()
    return out


def _parse_keys(keys):
    """(shape positions, texture positions) of a batch's sample keys; an unreadable name is an error."""
    from robench.errors import RobenchError

    if keys is None:
        raise RobenchError("metric 'cue_conflict' needs the samples' names (shape folder and texture in the "
                           "file name), and this batch came without them")
    shapes, textures = [], []
    for key in keys:
        shape, texture = shape_of(key), texture_of(key)
        if shape not in CATEGORY_INDEX or texture not in CATEGORY_INDEX:
            raise RobenchError(f"metric 'cue_conflict': cannot read a shape and a texture category from "
                               f"'{key}' (expected <shape>/<shape><i>-<texture><j>.png with shape and texture in "
                               f"{', '.join(CATEGORIES)})")
        shapes.append(CATEGORY_INDEX[shape])
        textures.append(CATEGORY_INDEX[texture])
    return shapes, textures


def _metric_class():
    import torch

    from robench.metrics.base import Metric, Value

    class CueConflict(Metric):
        """Shape bias, its two fractions and 16-way top-1 on cue-conflict stimuli (model-vs-human)."""

        name = "cue_conflict"
        version = "1"
        fields = {"cue_decisions": (N_CATEGORIES, N_CATEGORIES), "cue_conflict": (N_CATEGORIES, 3)}
        values = (
            Value("shape_bias", True, "shape bias (fraction 0-1; Geirhos et al., ICLR 2019, as model-vs-human "
                  "computes it): shape decisions / (shape + texture decisions) over the images whose shape and "
                  "texture differ; decision = the 16 category with the highest mean softmax probability over its "
                  "ImageNet classes", "shape bias"),
            Value("shape_bias_pct", True, "shape bias in percent (100 x shape_bias)", "shape bias %"),
            Value("frac_shape", None, "fraction (0-1) of all images that have a cue conflict and are decided as "
                  "their shape (model-vs-human 'fraction-correct-shape')", "frac shape"),
            Value("frac_texture", None, "fraction (0-1) of all images that have a cue conflict and are decided as "
                  "their texture (model-vs-human 'fraction-correct-texture')", "frac texture"),
            Value("top1_16", True, "16-way top-1 accuracy (%) against the shape category over all images "
                  "(model-vs-human's 16-class accuracy, in percent)", "16-way top-1"),
            Value("n_conflict", None, "images whose shape and texture categories differ (shape bias is over "
                  "these)", "conflict images"),
        )

        @classmethod
        def applies_to(cls, suite):
            return getattr(suite, "name", suite) == "cue-conflict"

        def decisions(self, scores):
            """(shape, texture, 16-way decision) position tensors of a batch."""
            shapes, textures = _parse_keys(scores.keys)
            shape = torch.tensor(shapes, dtype=torch.long)
            texture = torch.tensor(textures, dtype=torch.long)
            decision = decide(scores.full_logits)
            if decision.numel() != shape.numel():
                from robench.errors import RobenchError

                raise RobenchError(f"metric 'cue_conflict': {decision.numel()} logits rows for {shape.numel()} names")
            if scores.nonfinite.any():  # --nonfinite wrong: neither shape nor texture
                decision = torch.where(scores.nonfinite, neither(shape, texture), decision)
            return shape, texture, decision

        def sample_columns(self, scores):
            return {"cue_decision": self.decisions(scores)[2].to(torch.int8).numpy()}

        def sample_state(self, columns):
            import numpy as np

            shapes, textures = _parse_keys(columns["key"])
            shape, texture = np.asarray(shapes, dtype=np.int64), np.asarray(textures, dtype=np.int64)
            decision = np.asarray(columns["cue_decision"]).astype(np.int64)
            k, rows = N_CATEGORIES, np.arange(len(shape))
            table = np.zeros((len(shape), k, k))
            table[rows, shape, decision] = 1.0
            conflict = np.zeros((len(shape), k, 3))
            differ = shape != texture
            conflict[rows, shape, 0] = differ
            conflict[rows, shape, 1] = differ & (decision == shape)
            conflict[rows, shape, 2] = differ & (decision == texture)
            return {"cue_decisions": table, "cue_conflict": conflict}

        def update(self, state, scores):
            shape, texture, decision = self.decisions(scores)
            k = N_CATEGORIES
            state["cue_decisions"] += torch.bincount(shape * k + decision, minlength=k * k).reshape(k, k).double()
            conflict = shape != texture
            rows = shape[conflict]
            for column, hit in enumerate((torch.ones_like(rows, dtype=torch.bool), decision[conflict] == rows,
                                          decision[conflict] == texture[conflict])):
                state["cue_conflict"][:, column] += torch.bincount(rows[hit], minlength=k).double()

        def problem(self, state, n):
            """Saved state that does not add up (counts of n images) is not this metric's."""
            decisions, conflict = state["cue_decisions"], state["cue_conflict"]
            if (decisions != decisions.round()).any() or (conflict != conflict.round()).any():
                return "its counts are not whole numbers"
            if abs(decisions.sum().item() - n) > 0.5:
                return f"its decision table counts {decisions.sum().item():g} images, not {n:g}"
            images, hits = conflict[:, 0], conflict[:, 1] + conflict[:, 2]
            if (hits > images).any() or (images > decisions.sum(dim=1)).any():
                return "its conflict counts exceed the images of their category"
            return ""

        def compute(self, state, n):
            decisions, conflict = state["cue_decisions"], state["cue_conflict"]
            n_all = decisions.sum().item()
            result = from_counts(conflict[:, 1].sum().item(), conflict[:, 2].sum().item(), n_all,
                                 conflict[:, 0].sum().item())
            bias = result.shape_bias
            return {"shape_bias": bias, "shape_bias_pct": None if bias is None else 100.0 * bias,
                    "frac_shape": result.frac_shape, "frac_texture": result.frac_texture,
                    "top1_16": 100.0 * decisions.trace().item() / n_all if n_all else None,
                    "n_conflict": result.n_conflict}

    CueConflict.__module__, CueConflict.__qualname__ = __name__, "CueConflict"
    return CueConflict


def __getattr__(name):  # the metric class is built on first use: robench.metrics.base imports torch
    if name == "CueConflict":
        cls = globals()["CueConflict"] = _metric_class()
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
