"""Models for the Slurm campaign tests (stand-ins for a user's model that breaks on one node)."""
import os

from robench.models.oracle import ColourOracle


class FlakyOracle(ColourOracle):
    """The colour oracle, except in the Slurm array element named in the file at FLAKY_ORACLE_FAIL_FILE: there
    its forward pass raises, as a model whose weights are missing on one node would. Remove the file and
    the same model works everywhere."""

    def forward(self, x):
        path = os.environ.get("FLAKY_ORACLE_FAIL_FILE")
        if path and os.path.exists(path):
            with open(path) as f:
                if f.read().strip() == os.environ.get("SLURM_ARRAY_TASK_ID"):
                    raise RuntimeError("weights file missing on this node (flaky oracle)")
        return super().forward(x)


def flaky_oracle():
    return FlakyOracle()
