"""The leaderboard's figures, drawn with matplotlib's object API on the Agg canvas.

No pyplot and no global backend switch: a Figure is built, saved and dropped, so drawing is safe in
any process. PNG bytes still depend on the matplotlib and FreeType versions, which is why
``robench leaderboard --check`` compares the markdown (which names the plots) and not the images.
"""
import os
import tempfile
from dataclasses import dataclass

import pandas as pd

from robench.errors import RobenchError

_OOD_MARKERS = (("stylized_top1", "Stylized-ImageNet", "s"),
                ("imagenet_c_mean_error", "ImageNet-C (100 − mean error)", "D"),
                ("imagenet_r_top1", "ImageNet-R", "o"), ("sketch_top1", "ImageNet-Sketch", "^"),
                ("imagenet_a_top1", "ImageNet-A", "v"), ("imagenet_v2_matched_frequency_top1", "ImageNet-V2 MF", "P"))


@dataclass(frozen=True, eq=False)  # eq=False: DataFrames do not compare with ==
class PlotSpec:
    kind: str  # "corruptions" | "severity" | "clean_vs_ood"
    filename: str  # relative to the leaderboard's plots/ folder
    alt: str
    data: object  # a DataFrame, see the _corruptions/_severity/_clean_vs_ood drawers


def ood_points(frame):
    """(model, kind, dataset label, marker, clean top-1, OOD accuracy) for every row with both numbers."""
    points = []
    for _, row in frame.iterrows():
        clean = row.get("imagenet_top1")
        for column_id, label, marker in _OOD_MARKERS:
            value = row.get(column_id)
            if pd.isna(clean) or value is None or pd.isna(value):
                continue
            accuracy = 100 - value if column_id == "imagenet_c_mean_error" else value
            points.append({"model": row["model"], "kind": row["kind"], "dataset": label, "marker": marker,
                           "clean": float(clean), "ood": float(accuracy)})
    return pd.DataFrame(points)


def draw(spec, path):
    """Draws ``spec`` to ``path`` (PNG), atomically."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise RobenchError("the leaderboard's plots need matplotlib: pip install 'robench[plots]' "
                           "(robench leaderboard --check does not draw, so it runs without it)") from None

    fig = Figure(figsize=(9, 5.5), dpi=100)
    if spec.kind == "clean_vs_ood":
        _clean_vs_ood(fig, spec.data)
    else:
        ax = fig.subplots()
        {"corruptions": _corruptions, "severity": _severity}[spec.kind](ax, spec.data)
    fig.suptitle(spec.alt, fontsize=10)
    fig.tight_layout()
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".png", dir=directory)
    os.close(fd)
    try:
        fig.savefig(tmp, format="png", metadata={"Software": None})
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _corruptions(ax, frame):
    """Grouped bars: x = corruption, one bar per model (rows of ``frame``, index = model)."""
    corruptions = list(frame.columns)
    width = 0.8 / max(1, len(frame))
    for i, (model, row) in enumerate(frame.iterrows()):
        xs = [j + (i - (len(frame) - 1) / 2) * width for j in range(len(corruptions))]
        ax.bar(xs, [0 if pd.isna(v) else v for v in row], width=width, label=model, color=f"C{i % 10}")
    ax.set_xticks(range(len(corruptions)))
    ax.set_xticklabels([c.replace("_", " ") for c in corruptions], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("top-1 error (%), mean over severities ↓")
    ax.legend(fontsize=8)


def _severity(ax, frame):
    """Lines: x = severity (0 = clean), y = mean error over the benchmark corruptions, one per model."""
    for i, (model, group) in enumerate(frame.groupby("model", sort=True)):
        group = group.dropna(subset=["error"]).sort_values("severity")
        ax.plot(group["severity"], group["error"], marker="o", label=model, color=f"C{i % 10}")
    ax.set_xticks(range(0, 6))
    ax.set_xticklabels(["clean", "1", "2", "3", "4", "5"])
    ax.set_xlabel("severity")
    ax.set_ylabel("top-1 error (%), mean over corruptions ↓")
    ax.legend(fontsize=8)


def _clean_vs_ood(fig, frame):
    """One panel per OOD set: x = ImageNet top-1, y = its top-1; filled = measured, hollow = reported.

    Models on the same clean accuracy differ in how far above the others they sit: that vertical
    distance is their effective robustness. Points carry model names; panels keep their own scales.
    """
    datasets = [d for d, _ in frame.groupby("dataset", sort=False)]
    order = [label for _, label, _ in _OOD_MARKERS if label in datasets]
    cols = min(3, len(order))
    rows = (len(order) + cols - 1) // cols
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for i, label in enumerate(order):
        ax, part = axes[i], frame[frame["dataset"] == label]
        marker, colour = part["marker"].iloc[0], f"C{i % 10}"
        for kind, group in part.groupby("kind", sort=True):
            measured = kind == 0
            ax.scatter(group["clean"], group["ood"], marker=marker, s=36, linewidths=1.2,
                       facecolors=colour if measured else "none", edgecolors=colour,
                       label="measured" if measured else "reported")
        for _, point in part.iterrows():
            ax.annotate(point["model"], (point["clean"], point["ood"]), fontsize=5, xytext=(3, 2),
                        textcoords="offset points")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("ImageNet top-1 (%)", fontsize=8)
        ax.set_ylabel("top-1 (%)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.margins(0.25)
        ax.legend(fontsize=6)
    for ax in axes[len(order):]:
        ax.set_visible(False)
