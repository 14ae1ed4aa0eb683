"""Cue-conflict stimuli (Geirhos et al., ICLR 2019; bethgelab/model-vs-human): shape bias.

``<root>/<shape>/<shape><i>-<texture><j>.png`` (or ``<root>/cue-conflict/...``): 1,280 PNGs of 224x224,
16 folders of 80 named by the shape category; the texture category is in the file name. Used as
released at 224, no resize or crop (``resize = False``; every image is checked to be square at the
stored size, and one that is not is named). Each image's 1k label is the first ImageNet index of its
shape category; nothing is scored on a class subset, because the decision maps the full 1000-way
softmax to the 16 categories (metric ``cue_conflict``, ``robench.metrics.cue_conflict``). The record's
variant holds shape bias (fraction and percent), the shape and texture fractions and 16-way top-1; its
aggregates the shape bias per shape category. The leaderboard shows shape bias (%), a table of it per
category and a bar plot.
"""
import os

import numpy as np

from robench.datasets.base import Variant, find_data_dir, scan_wnid_folders
from robench.datasets.declare import Column, DetailTable, Plot
from robench.datasets.suite import Suite
from robench.errors import DatasetLayoutError, RobenchError
from robench.metrics.cue_conflict import (CATEGORIES, CATEGORY_INDEX, first_imagenet_index, shape_bias_by_category,
                                          texture_of)

DEFINITION = ("shape bias (%) on the 1,280 cue-conflict stimuli of Geirhos et al. (ICLR 2019), computed as "
              "bethgelab/model-vs-human does: the 1000-way softmax is mapped to 16 categories by the mean "
              "probability of each category's ImageNet classes, and over the 1,200 images whose shape and texture "
              "differ, shape bias = shape decisions / (shape + texture decisions); 224 px as released, no resize "
              "or crop. 100 x model-vs-human's fraction (ResNet-50 about 20, humans about 96).")


class CueConflictSuite(Suite):
    name = "cue-conflict"
    title = "Cue-conflict"
    description = ("cue-conflict stimuli (Geirhos et al. 2019), 224px as released, no resize; shape bias from the "
                   "16-category mean-probability decision (model-vs-human)")
    layout = ("<shape>/<shape><i>-<texture><j>.png or cue-conflict/<shape>/... (1,280 images, 16 category "
              "folders, 224x224)")
    folder_names = ("cue-conflict",)
    n_official = 1_280
    n_classes = 16  # category folders (robench data check compares the classes found with it)
    label_subset = None  # the decision needs the whole 1000-way softmax
    resize = False
    stored_size = 224
    metrics = ("cue_conflict",)  # 1000-way top-1 against one index per category would mean nothing here
    columns = (Column("cue_conflict_shape_bias", "Shape bias", True, DEFINITION, source="variant",
                      key="shape_bias_pct"),)

    # --- data -----------------------------------------------------------------------------------
    def scan(self, root, select=None):
        directory = find_data_dir(root, self.folder_names)
        source = scan_wnid_folders(directory, label_for=self._label_for, what=self.layout)
        for rel, _ in source.entries:
            if texture_of(rel) not in CATEGORY_INDEX:
                raise DatasetLayoutError(
                    f"{os.path.join(directory, rel)}: the file name does not give a shape and a texture category "
                    f"(expected {self.layout}; categories: {', '.join(CATEGORIES)})")
        variants = [Variant(f"{self.name}/stimuli", source, n_official=self.n_official, resize=False,
                            stored_size=self.stored_size_of(root))]
        return self.select_variants(variants, select) if select else variants

    def _label_for(self, folder, where):
        if folder not in CATEGORY_INDEX:
            raise DatasetLayoutError(f"{where}: '{folder}' is not one of the 16 cue-conflict categories "
                                     f"({', '.join(CATEGORIES)}; expected {self.layout})")
        return first_imagenet_index(folder)

    def write_generated(self, out, **options):
        return write_cue_conflict(out, **options)

    # --- results --------------------------------------------------------------------------------
    def aggregates(self, entries):
        """Shape bias per shape category (fractions 0..1), from the variants' summed ``cue_conflict`` state."""
        table, found = np.zeros((len(CATEGORIES), 3)), False
        for entry in entries:
            state = (entry.get("state") or {}).get("cue_conflict")
            if state is not None:
                table += np.asarray(state, dtype=float).reshape(len(CATEGORIES), 3)
                found = True
        if not found:
            return {}
        return {"shape_bias_by_category": shape_bias_by_category(table),
                "definitions": {"shape_bias_by_category": (
                    "shape bias (fraction 0-1) per shape category (the folder), over its images whose shape and "
                    "texture differ, as model-vs-human's per-category shape-bias plots group them; null when "
                    "none of them was decided as its shape or its texture")}}

    def detail_tables(self, rows):
        frame = _per_category(rows)
        if frame is None:
            return []
        return [DetailTable("Cue-conflict shape bias per category",
                            "Shape bias (%) per shape category ↑: shape decisions / (shape + texture decisions) over "
                            "the category's images whose shape and texture differ (as model-vs-human's per-category "
                            "plot). `all` is the main table's shape bias. Reported rows give no per-category numbers.",
                            frame, text_columns=1, lower_is_better=False)]

    def plots(self, rows):
        frame = _per_category(rows)
        if frame is None:
            return []
        bars = frame.set_index("Model").drop(columns=["all"])
        return [Plot("bars", f"{self.name}-categories", "Cue-conflict shape bias per shape category", bars,
                     ylabel="shape bias (%) ↑")]


def _per_category(rows):
    """DataFrame: Model, all, then the 16 categories, shape bias in percent; None without rows."""
    import pandas as pd

    if not rows:
        return None
    out = []
    for label, record, _ in sorted(rows, key=lambda r: r[0]):
        by_category = (record.get("aggregates") or {}).get("shape_bias_by_category") or {}
        variants = record.get("variants") or []
        overall = (variants[0].get("metrics") or {}).get("shape_bias_pct") if len(variants) == 1 else None
        row = {"Model": label, "all": overall}
        row.update({c: None if by_category.get(c) is None else 100.0 * by_category[c] for c in CATEGORIES})
        out.append(row)
    return pd.DataFrame(out, columns=["Model", "all", *CATEGORIES])


# --- generated stand-in stimuli -------------------------------------------------------------------------
def generated_decision(category_position, j):
    """Which cue the colour of generated stimulus ``j`` (0-based) of shape category ``category_position``
    carries: 'shape' (j == 0, the image without conflict, and every j > m + 1), 'texture' (1 <= j <= m) or
    'neither' (j == m + 1, the colour of a third category), with m = category_position % 3."""
    m = category_position % 3
    if j == 0 or j > m + 1:
        return "shape"
    return "texture" if j <= m else "neither"


def generated_stimulus(category_position, j):
    """(shape, texture, colour category, file name) of generated stimulus ``j`` of a shape category:
    its texture is the category ``j`` places after its shape (j = 0, 16, ...: no conflict)."""
    shape = CATEGORIES[category_position]
    texture = CATEGORIES[(category_position + j) % len(CATEGORIES)]
    cue = generated_decision(category_position, j)
    colour = {"shape": shape, "texture": texture,
              "neither": CATEGORIES[(category_position + j + 8) % len(CATEGORIES)]}[cue]
    return shape, texture, colour, f"{shape}{j + 1}-{texture}{category_position + 1}.png"


def expected_generated(n_classes=16, per_class=5):
    """What the colour oracle decides on ``write_cue_conflict(n_classes, per_class)``: (shapes, textures,
    decisions) as category names, one per image, in the order written."""
    shapes, textures, decisions = [], [], []
    for a in range(n_classes):
        for j in range(per_class):
            shape, texture, colour, _ = generated_stimulus(a, j)
            shapes.append(shape)
            textures.append(texture)
            decisions.append(colour)
    return shapes, textures, decisions


def draw_stimulus(shape, texture, colour_label, rng, size):
    """A stand-in stimulus: a silhouette of the shape category (a disc, square or triangle, by category)
    filled with stripes of the texture category, whose MEAN colour is ``colour_label``'s code (what the
    colour oracle reads): the shading is zero-mean around that colour."""
    from robench.datasets.colour_code import colour_of

    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / max(1, size - 1) - 0.5
    kind = CATEGORY_INDEX[shape] % 3
    if kind == 0:
        inside = xx ** 2 + yy ** 2 < 0.16
    elif kind == 1:
        inside = (abs(xx) < 0.32) & (abs(yy) < 0.32)
    else:
        inside = (yy > -0.35) & (yy < 0.35) & (abs(xx) < (yy + 0.35) * 0.6)
    t = CATEGORY_INDEX[texture]
    angle, period = np.pi * t / 16, 0.08 + 0.01 * (t % 5)
    stripes = np.sin(2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle)) / period)
    pattern = np.where(inside, 6.0 + 4.0 * stripes, -6.0 + 2.0 * stripes)
    pattern -= pattern.mean()
    img = np.asarray(colour_of(colour_label), np.float32) + pattern[..., None]
    return img + rng.normal(0.0, 2.0, size=img.shape)


def write_cue_conflict(out, *, n_classes=16, per_class=5, size=224, seed=0, labels=None):
    """``out/<shape>/<shape><j+1>-<texture><a+1>.png`` for the first ``n_classes`` categories (sorted),
    ``per_class`` images each, PNG, square ``size``; returns the number written.

    Stimulus j of category a has texture CATEGORIES[(a + j) % 16] (j = 0: no conflict) and the mean colour
    of the first ImageNet index of its shape, its texture or a third category, by ``generated_decision``,
    so the colour oracle's shape bias is known exactly: with the defaults (16 x 5 = 80 images), 33 shape
    and 15 texture decisions among the 64 conflict images, shape bias 33/48 = 0.6875; per category 1, 2/3
    or 1/3 (a % 3 = 0, 1, 2).
    """
    from robench.datasets.colour_code import LEVEL_BASE, LEVEL_STEP, mark_generated

    if labels is not None:
        raise RobenchError("cue-conflict's generated layout is made of its 16 categories; it takes no labels")
    if not 1 <= n_classes <= len(CATEGORIES):
        raise RobenchError(f"cue-conflict has {len(CATEGORIES)} categories; --classes must be 1..{len(CATEGORIES)}")
    if size < 8:
        raise RobenchError("cue-conflict stand-in stimuli need at least 8x8 pixels")
    from PIL import Image

    count = 0
    for a in range(n_classes):
        for j in range(per_class):
            shape, texture, colour, filename = generated_stimulus(a, j)
            label = first_imagenet_index(colour)
            rng = np.random.default_rng([seed, a, j])
            pixels = np.clip(draw_stimulus(shape, texture, label, rng, size), 0, 255).round().astype(np.uint8)
            levels = np.round((pixels.reshape(-1, 3).mean(axis=0) - LEVEL_BASE) / LEVEL_STEP).astype(int)
            if int(levels[0]) * 100 + int(levels[1]) * 10 + int(levels[2]) != label:  # never, by construction
                raise RobenchError(f"generated stimulus {filename} does not carry the colour code of class {label}")
            os.makedirs(os.path.join(out, shape), exist_ok=True)
            Image.fromarray(pixels, "RGB").save(os.path.join(out, shape, filename))
            count += 1
    mark_generated(out, size=size, seed=seed, categories=list(CATEGORIES[:n_classes]), per_class=per_class)
    return count
