"""Values that need two records, computed when records are read together (leaderboard, reports).

Relative mCE needs the same model's clean error; ImageNet-R's ``clean_subset_top1`` needs the same
model's record of the clean twin. A suite names its ``companion`` and computes the values in
``Suite.joined``; here the two records are matched by one ``model_key`` (spec, weights, their hash,
preprocessing, precision). Nothing reads an output directory during evaluation, so the order in
which a user runs suites does not matter.
"""
from robench.results import model_key


def index_records(records):
    """{(model_key, suite name): record} for JSON-ready records (the first of duplicates wins)."""
    index = {}
    for record in records:
        index.setdefault((model_key(record), record["suite"]["name"]), record)
    return index


def companion_of(record, index, suite=None):
    """The companion record of the same model, or None (no companion suite, or not evaluated)."""
    from robench.datasets import find_suite

    suite = suite or find_suite(record["suite"]["name"])
    if suite is None or not suite.companion:
        return None
    return index.get((model_key(record), suite.companion))


def joined_values(record, index):
    """The suite's joined values for ``record`` ({} for suites that join nothing or are not installed)."""
    from robench.datasets import find_suite

    suite = find_suite(record["suite"]["name"])
    if suite is None or not suite.companion:
        return {}
    return suite.joined(record, companion_of(record, index, suite))
