"""The leaderboard: result records (+ published reference rows) -> ``leaderboard/README.md`` and plots.

``build(entries_dir, reported_csv, out_path)`` writes them; ``generate`` only computes them;
``stale`` tells whether a README on disk is current. See ``robench leaderboard --help``.
"""
from robench.leaderboard.protocol import protocol_key
from robench.leaderboard.render import Leaderboard, build, generate, stale, write

__all__ = ["Leaderboard", "build", "generate", "protocol_key", "stale", "write"]
