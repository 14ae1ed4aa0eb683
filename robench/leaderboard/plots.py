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

    if spec.kind == "er_scatter":
        fig = Figure(figsize=(11, 8.5), dpi=100)
        _er_scatter(fig, spec.data)
        fig.suptitle(spec.alt, fontsize=11)
        fig.tight_layout()
        atomic_write_with(path, lambda tmp: fig.savefig(tmp, format="png", metadata={"Software": None}),
                          suffix=".png")
        return
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
    crowded = (frame["kind"] == 2).any()  # imported rows: hundreds of points, labelled only when highlighted
    for i, label in enumerate(order):
        ax, part = axes[i], frame[frame["dataset"] == label]
        marker, colour = part["marker"].iloc[0], f"C{i % 10}"
        for kind, group in part.groupby("kind", sort=True):
            if kind == 2:
                ax.scatter(group["clean"], group["ood"], marker=".", s=6, color="0.7", linewidths=0,
                           label="imported", zorder=1)
                continue
            measured = kind == 0
            ax.scatter(group["clean"], group["ood"], marker=marker, s=36, linewidths=1.2,
                       facecolors=colour if measured else "none", edgecolors=colour,
                       label="measured" if measured else "reported", zorder=3)
        if crowded:  # hundreds of points: the highlighted ones labelled in a column (see _side_labels)
            mine = part[part["kind"] != 2]
            _side_labels(ax, mine["model"], mine["clean"], mine["ood"], fontsize=5)
        else:
            for _, point in part.iterrows():
                ax.annotate(point["model"], (point["clean"], point["ood"]), fontsize=5, xytext=(3, 2),
                            textcoords="offset points")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("ImageNet top-1 (%)", fontsize=8)
        ax.set_ylabel("top-1 (%)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.margins(0.05 if crowded else 0.25)
        ax.legend(fontsize=6)
    for ax in axes[len(order):]:
        ax.set_visible(False)


def _er_scatter(fig, data):
    """One panel per fitted OOD set on logit axes (the trend is a straight line there): the baseline models
    small and blue, the other imported rows small and grey, measured and reported.csv rows large, coloured and
    labelled (only they), the fitted trend as a line over the plotted range."""
    import numpy as np

    from robench.leaderboard.effective_robustness import inverse_logit, logit

    frame, fits = data["frame"], data["fits"]
    cols = 2 if len(fits) > 1 else 1
    rows = (len(fits) + cols - 1) // cols
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, fit in zip(axes, fits):
        cid = fit.column_id
        part = frame[frame[cid].notna() & frame["clean"].notna()]
        part = part[(part["clean"] > 0) & (part["clean"] < 100) & (part[cid] > 0) & (part[cid] < 100)]
        other, base, high = part[(part["kind"] == 2) & ~part["baseline"]], part[part["baseline"]], part[part["kind"] != 2]
        ax.scatter(other["clean"] / 100, other[cid] / 100, s=5, color="0.72", linewidths=0, zorder=1,
                   label=f"other imported ({len(other)})")
        ax.scatter(base["clean"] / 100, base[cid] / 100, s=5, color="tab:blue", alpha=0.55, linewidths=0, zorder=2,
                   label=f"baseline ({len(base)})")
        xs = logit(np.clip(part["clean"].to_numpy() / 100, 1e-4, 1 - 1e-4))
        grid = np.linspace(xs.min(), xs.max(), 100)
        ax.plot(inverse_logit(grid), inverse_logit(fit.trend.slope * grid + fit.trend.intercept), color="tab:red",
                lw=1.2, zorder=3, label=f"trend: slope {fit.trend.slope:.2f}")
        for kind, group in high.groupby("kind", sort=True):
            ax.scatter(group["clean"] / 100, group[cid] / 100, s=42, marker="o" if kind == 0 else "D",
                       facecolors="tab:orange" if kind == 0 else "none", edgecolors="tab:orange" if kind == 0 else "k",
                       linewidths=1.1, zorder=4, label="measured" if kind == 0 else "reported (reported.csv)")
        _side_labels(ax, high["model"], high["clean"] / 100, high[cid] / 100)
        ax.set_xscale("logit")
        ax.set_yscale("logit")
        _percent_ticks(ax)
        ax.set_title(f"{fit.label}: {fit.n_baseline} baseline models", fontsize=9)
        ax.set_xlabel("ImageNet top-1 (%, logit axis)", fontsize=8)
        ax.set_ylabel(f"{fit.label} top-1 (%, logit axis)", fontsize=8)
        ax.grid(True, which="major", lw=0.3, color="0.85")
        ax.legend(fontsize=6, loc="upper left")
    for ax in axes[len(fits):]:
        ax.set_visible(False)


def _side_labels(ax, names, xs, ys, fontsize=6.5):
    """Labels in a column at the lower right of the panel (below the trend, where few points are), in the
    points' vertical order and joined to them by thin lines, so that points on top of each other (the
    paper's models sit within a point of one another) still get one legible label each."""
    order = sorted(range(len(names)), key=lambda i: (list(ys)[i], list(names)[i]))
    step = min(0.06, 0.5 / max(1, len(order)))
    for rank, i in enumerate(order):
        ax.annotate(list(names)[i], (list(xs)[i], list(ys)[i]), xytext=(0.98, 0.04 + rank * step),
                    textcoords="axes fraction", ha="right", va="center", fontsize=fontsize, zorder=5,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "0.8", "lw": 0.4},
                    arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.35", "shrinkA": 0, "shrinkB": 3})


def _percent_ticks(ax):
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ticks = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99]
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(FixedLocator(ticks))
        axis.set_minor_locator(NullLocator())
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{100 * v:g}"))
    ax.tick_params(labelsize=7)
