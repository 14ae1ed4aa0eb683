"""Another package's robench plug-ins: a corruption suite and a metric, found through entry points.

Put this folder on ``sys.path`` (it holds the package and its ``.dist-info``, as an installed
distribution would) and robench finds ``example-c`` and ``brier`` without any edit to robench.
"""
