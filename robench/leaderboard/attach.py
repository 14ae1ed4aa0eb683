"""Cells of one published source placed on another source's row of the same model and protocol.

model-vs-human's shape bias of torchvision's ResNet-50 and timm's results for ``resnet50.tv_in1k`` describe
one model under one protocol; two rows for it would split it in the tables, the effective-robustness
scatter and the measured-beside-reported comparison. An importer marks such a row with ``attach_to``
(the source whose row should take it); here its values move onto that row, the row's source names both
(``timm + model-vs-human (Shape bias)``) and its notes say which columns came from where. Only columns
the target row does not have are moved; a row whose target is absent (another snapshot of timm) stays a
row of its own, so nothing is lost silently. The shipped sources' rows (``Imported.rows``) are not
changed: the page's table of notes lists each source's own notes.
"""
import pandas as pd

from robench.leaderboard.columns import column

JOINER = " + "


def primary_source(source):
    """The source a (possibly attached) row's ``source`` text starts with: 'reported: timm + x (y)' ->
    'reported: timm'."""
    return str(source).split(JOINER, 1)[0]


def attach(rows):
    """``rows`` (imported rows, reported.csv's columns and maybe ``attach_to``) with every attachable row
    merged into its target; the ``attach_to`` column is dropped."""
    if "attach_to" not in rows.columns:
        return rows
    rows = rows.copy()
    targets = rows["attach_to"].fillna("")
    metrics = [c for c in rows.columns if c not in ("model", "source", "params_m", "protocol", "citation",
                                                    "source_url", "notes", "attach_to")]
    where = {(m, s, p): i for i, (m, s, p) in enumerate(zip(rows["model"], rows["source"], rows["protocol"]))}
    drop = []
    for i in [i for i, t in enumerate(targets) if t]:
        row = rows.iloc[i]
        j = where.get((row["model"], targets.iat[i], row["protocol"]))
        if j is None:
            continue
        moved = [c for c in metrics if not pd.isna(row[c]) and pd.isna(rows.iat[j, rows.columns.get_loc(c)])]
        if not moved:
            continue
        for c in moved:
            rows.iat[j, rows.columns.get_loc(c)] = row[c]
        headers = ", ".join(column(c).header for c in moved)
        at = rows.columns.get_loc
        rows.iat[j, at("source")] = f"{rows.iat[j, at('source')]}{JOINER}{row['source']} ({headers})"
        rows.iat[j, at("notes")] = "; ".join(p for p in (rows.iat[j, at("notes")], f"{headers} from {row['source']}: "
                                                           f"{row['notes']}") if p)
        rows.iat[j, at("citation")] = "; ".join(p for p in (rows.iat[j, at("citation")], row["citation"]) if p)
        drop.append(i)
    return rows.drop(index=rows.index[drop]).drop(columns="attach_to").reset_index(drop=True)
