"""What a suite declares for everything downstream of it: leaderboard columns, detail tables, plots.

The leaderboard, ``robench report`` and the CLI summaries read these declarations and never name a
suite themselves, so a suite added by another package (entry point ``robench.suites``) gets its
columns, tables and plots without any edit to robench.
"""
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Column:
    """One column of the main table: where its number comes from in a record, and what it means.

    ``source`` is "variant" (the metric ``key`` of the variant whose name ends with ``variant``, or of
    the only variant), "aggregate" (``record.aggregates[key]``) or "joined" (a value computed at report
    time from this record and its companion's, ``Suite.joined``).
    """

    id: str  # also the column name in reported.csv
    header: str
    higher_is_better: bool
    definition: str
    source: str = "variant"
    key: str = "top1"
    variant: Optional[str] = None
    core: bool = False  # shown in the standard section's main table even when empty
    clean_reference: bool = False  # the x axis of the clean-vs-OOD plot
    plot_label: Optional[str] = None  # a panel of the clean-vs-OOD plot (None: not plotted)
    plot_marker: str = "o"
    error_like: bool = False  # plotted as 100 - value (an error column on an accuracy axis)


@dataclass(frozen=True, eq=False)  # eq=False: DataFrames do not compare with ==
class DetailTable:
    """A table under a section's main table, e.g. top-1 error per corruption and severity."""

    title: str
    intro: str
    frame: object  # a pandas DataFrame: text columns first, then numbers
    text_columns: int = 1  # left-aligned, shown as they are
    lower_is_better: Optional[bool] = True  # bold the best number per column; None: no bold
    collapsed: bool = False  # inside <details>


@dataclass(frozen=True, eq=False)
class Plot:
    """A figure the leaderboard draws: kind "bars" (rows = models, columns = groups of bars) or
    "lines" (columns model, x, y)."""

    kind: str
    slug: str  # file name part, e.g. "imagenet-c-corruptions"
    alt: str
    data: object
    xlabel: str = ""
    ylabel: str = ""
    xticks: Optional[tuple] = None  # (positions, labels)
