"""The leaderboard's intervals and ties (robench/leaderboard/tables.py, columns.py): measured rows take
their records' intervals, published rows a Clopper-Pearson interval from the value and the data set's
size where that gives the counts, and adjacent ranks whose intervals overlap are marked ≈."""
import os

import pandas as pd
import pytest
from scipy.stats import binomtest

from robench.leaderboard import columns, tables
from robench.leaderboard.load import load_entries, load_reported
from robench.stats import clopper_pearson

FIXTURES = os.path.join(os.path.dirname(__file__), "data", "leaderboard")


def test_ties_are_adjacent_ranks_whose_intervals_overlap():
    values = [70.0, 80.0, 79.5, 60.0, None, 50.0]
    intervals = [(69.0, 71.0), (79.0, 81.0), (79.2, 79.8), (59.0, 61.0), (1.0, 99.0), None]
    assert tables.tie_marks(values, intervals, True) == [False, True, True, False, False, False]
    # lower is better: the rank order is reversed, the overlapping pair is the same
    assert tables.tie_marks(values, intervals, False) == [False, True, True, False, False, False]
    # a chain: 1 overlaps 2, 2 overlaps 3, 1 and 3 do not overlap; all three are tied with a neighbour
    assert tables.tie_marks([3.0, 2.0, 1.0], [(2.5, 3.5), (1.4, 2.6), (0.5, 1.5)], True) == [True, True, True]
    assert tables.tie_marks([1.0, 1.0], [(0, 2), (0, 2)], None) == [False, False]


def test_published_intervals_come_from_the_value_and_the_released_size():
    low, high = columns.published_interval("imagenet_top1", 80.374)  # timm's 3 decimals: k = 40,187 exactly
    ci = binomtest(40187, 50000).proportion_ci(0.95, method="exact")
    assert (low, high) == pytest.approx((100 * ci.low, 100 * ci.high), abs=1e-9)
    assert columns.published_n("imagenet_r_top1") == 30000 and columns.published_n("imagenet_a_top1") == 7500
    assert columns.published_interval("imagenet_c_mce", 60.0) is None  # an aggregate: no counts
    assert columns.published_interval("cue_conflict_shape_bias", 20.0) is None  # n decisions not known
    assert columns.published_intervals("imagenet_top1", [None, 100.0])[0] is None
    assert columns.published_intervals("imagenet_top1", [100.0])[0][1] == 100.0


@pytest.fixture(scope="module")
def frame_and_entries():
    entries, problems = load_entries(os.path.join(FIXTURES, "entries"))
    assert not problems
    frame = tables.main_rows(entries, load_reported(os.path.join(FIXTURES, "reported.csv")))
    return frame, entries


def test_measured_rows_show_their_records_intervals(frame_and_entries):
    frame, entries = frame_and_entries
    intervals = tables.row_intervals(frame, entries)
    clean = next(e for e in entries if e.suite == "imagenet" and e.record["model"]["name"] == "resnet50"
                 and e.key == ())
    state = clean.record["variants"][0]["state"]
    low, high = clopper_pearson(round(state["correct1"]), round(state["n"]))
    assert intervals[((), clean.model_id, 0, tables.MEASURED, "imagenet_top1")] == pytest.approx(
        (100 * low, 100 * high), abs=1e-9)
    standard = frame[frame["section"] == ()].reset_index(drop=True)
    plain = tables.main_grid(standard)
    shown = tables.main_grid(standard, intervals=intervals)
    assert not any("±" in cell for row in plain.rows for cell in row)  # off unless asked for
    col = plain.headers.index("ImageNet ↑")
    row = list(standard["model"]).index("resnet50")
    value = plain.rows[row][col]
    assert shown.rows[row][col].startswith(f"{value} ± {(100 * high - 100 * low) / 2:.1f}")
    reported = [i for i, kind in enumerate(standard["kind"]) if kind == 1 and not pd.isna(standard.loc[i, "imagenet_top1"])]
    assert reported and all("±" in shown.rows[i][col] for i in reported)  # from the value and 50,000 images


def test_cells_carry_the_tie_mark():
    texts = tables.with_intervals(["**80.0**", "79.9", "–"], [80.0, 79.9, None], [(79, 81), (79.5, 80.3), None], True)
    assert texts == ["**80.0** ± 1.0 ≈", "79.9 ± 0.4 ≈", "–"]


def test_the_page_builders_hook_gives_both_grids_with_intervals(frame_and_entries):
    frame, entries = frame_and_entries
    standard = frame[frame["section"] == ()].reset_index(drop=True)
    shown, full = tables.interval_grids(standard.head(3), standard, True, [e for e in entries if e.key == ()])
    assert len(shown.rows) == 3 and len(full.rows) == len(standard)
    # the same values and intervals; ties (like bold) are ranked within each table as it is shown
    for small, big in zip(shown.rows, full.rows):
        cells = dict(zip(full.headers, big))
        for header, cell in zip(shown.headers, small):
            assert cell.replace(" ≈", "").replace("**", "") == cells[header].replace(" ≈", "").replace("**", "")
    assert any("±" in cell for row in full.rows for cell in row)
