"""The leaderboard's figures, drawn with matplotlib's object API on the Agg canvas.

No pyplot and no global backend switch: a Figure is built, saved and dropped, so drawing is safe in
any process. PNG bytes still depend on the matplotlib and FreeType versions, which is why
``robench leaderboard --check`` compares the markdown (which names the plots) and not the images.
Suites declare their own figures (``Suite.plots``: bars or lines); the clean-vs-OOD figure is built
here from the columns that declare a ``plot_label``.
"""

import pandas as pd

from robench.datasets.declare import Plot
from robench.errors import RobenchError
from robench.fileio import atomic_write_with
from robench.leaderboard.columns import declared_columns


def ood_points(frame):
    """(model, kind, dataset label, marker, clean top-1, OOD accuracy) for every row with both numbers."""
    columns = declared_columns().values()
    clean_ids = [c.id for c in columns if c.clean_reference]
    points = []
    for _, row in frame.iterrows():
        clean = next((row.get(cid) for cid in clean_ids if cid in row and not pd.isna(row.get(cid))), None)
        if clean is None:
            continue
        for col in columns:
            value = row.get(col.id) if col.plot_label else None
            if value is None or pd.isna(value):
                continue
            points.append({"model": row["model"], "kind": row["kind"], "dataset": col.plot_label,
                           "marker": col.plot_marker, "clean": float(clean),
                           "ood": float(100 - value if col.error_like else value)})
    return pd.DataFrame(points)


def clean_vs_ood(points, slug):
    return Plot("clean_vs_ood", f"{slug}-clean-vs-ood",
                "Clean ImageNet top-1 vs out-of-distribution top-1 (effective robustness)", points)


def draw(spec, path):
    """Draws ``spec`` (a Plot) to ``path`` (PNG), atomically."""
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
        {"bars": _bars, "lines": _lines}[spec.kind](ax, spec)
    fig.suptitle(spec.alt, fontsize=10)
    fig.tight_layout()
    atomic_write_with(path, lambda tmp: fig.savefig(tmp, format="png", metadata={"Software": None}), suffix=".png")


def _bars(ax, spec):
    """Grouped bars: x = the frame's columns, one bar per row (index = model)."""
    frame = spec.data
    groups = list(frame.columns)
    width = 0.8 / max(1, len(frame))
    for i, (model, row) in enumerate(frame.iterrows()):
        xs = [j + (i - (len(frame) - 1) / 2) * width for j in range(len(groups))]
        ax.bar(xs, [0 if pd.isna(v) else v for v in row], width=width, label=model, color=f"C{i % 10}")
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([str(c).replace("_", " ") for c in groups], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel(spec.ylabel)
    ax.legend(fontsize=8)


def _lines(ax, spec):
    """Lines: columns model, x, y; one line per model."""
    for i, (model, group) in enumerate(spec.data.groupby("model", sort=True)):
        group = group.dropna(subset=["y"]).sort_values("x")
        ax.plot(group["x"], group["y"], marker="o", label=model, color=f"C{i % 10}")
    if spec.xticks:
        ax.set_xticks(list(spec.xticks[0]))
        ax.set_xticklabels(list(spec.xticks[1]))
    ax.set_xlabel(spec.xlabel)
    ax.set_ylabel(spec.ylabel)
    ax.legend(fontsize=8)


def _clean_vs_ood(fig, frame):
    """One panel per OOD set: x = ImageNet top-1, y = its top-1; filled = measured, hollow = reported.

    Models on the same clean accuracy differ in how far above the others they sit: that vertical
    distance is their effective robustness. Points carry model names; panels keep their own scales.
    """
    order = list(dict.fromkeys(frame["dataset"]))
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
