"""Measured beside reported: a reproduction made visible.

When a section holds a measured row and a reported row of the same model (same name, same protocol
section), each column both give is shown with the difference (measured - reported). A difference beyond
``TOLERANCE`` percentage points is flagged as a mismatch: the paper prints one decimal (a rounding error
of at most 0.05), and decoder or GPU nondeterminism moves top-1 by about 0.1-0.2 points, so half a
point is more than the way of measuring explains.
"""
import pandas as pd

from robench.leaderboard.columns import column

TOLERANCE = 0.5  # percentage points
MATCH, MISMATCH = "matches", f"**mismatch** (more than {TOLERANCE} points)"


def reproduction_frame(section):
    """DataFrame (Model, Reported by, Column, Measured, Reported, Difference, Check) of every value a
    measured and a reported row of one model both hold in ``section`` (a main_rows frame); None if none."""
    metric_ids = [c for c in section.columns if c not in ("section", "model", "identity", "kind", "source", "params_m")]
    out = []
    for model in sorted(set(section.loc[section["kind"] == 0, "model"]) & set(section.loc[section["kind"] != 0, "model"])):
        rows = section[section["model"] == model]
        for _, measured in rows[rows["kind"] == 0].iterrows():
            for _, reported in rows[rows["kind"] != 0].iterrows():
                for cid in metric_ids:
                    m, r = measured.get(cid), reported.get(cid)
                    if pd.isna(m) or pd.isna(r):
                        continue
                    diff = float(m) - float(r)
                    out.append({"Model": model, "Reported by": reported["source"].removeprefix("reported: "),
                                "Column": column(cid).header, "Measured": float(m), "Reported": float(r),
                                "Difference": diff, "Check": MISMATCH if abs(diff) > TOLERANCE else MATCH})
    return pd.DataFrame(out) if out else None


def reproduction_grid(frame):
    """The frame as a tables.Grid: numbers with one decimal, differences signed."""
    from robench.leaderboard.tables import Grid

    body = pd.DataFrame({
        "Model": frame["Model"], "Reported by": frame["Reported by"], "Column": frame["Column"],
        "Measured": [f"{v:.1f}" for v in frame["Measured"]], "Reported": [f"{v:.1f}" for v in frame["Reported"]],
        "Measured - reported": [f"{v:+.1f}" for v in frame["Difference"]], "Check": list(frame["Check"])})
    return Grid.of(body, 3)


def reproduction_markdown(frame):
    """The frame as a markdown table: names escaped, numbers with one decimal, differences signed."""
    from robench.leaderboard.tables import grid_markdown

    return grid_markdown(reproduction_grid(frame))
