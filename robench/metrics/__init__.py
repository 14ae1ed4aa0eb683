"""Metrics: additive per-variant state (``ClassificationMetrics``) and suite aggregates."""
