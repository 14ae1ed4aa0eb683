"""The default metric set's state under its historical name (top-1/top-5/error, NLL, ECE)."""
from robench.metrics.base import MetricSet


def ClassificationMetrics(state=None):  # noqa: N802  (kept callable like the class it once was)
    """A MetricState of the built-in metrics (a new one, or restored from ``state``)."""
    metric_set = MetricSet(["accuracy", "nll", "calibration"])
    return metric_set.new() if state is None else metric_set.restore(state)
