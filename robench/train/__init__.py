"""Training the paper's CNNs with its recipe (DeiT's, on timm parts): ``train(TrainConfig(...))``.

Modules: ``recipes`` (named presets), ``config`` (the run's options), ``data`` (train split from
folders or shards), ``loop`` (one epoch), ``checkpoint`` (atomic, resumable state), ``validate``
(through the evaluation engine), ``main`` (set-up). Importing this package does not import torch.
"""
from robench.train.config import TrainConfig  # noqa: F401
from robench.train.recipes import PAPER, RECIPES, Recipe, find_recipe, get_recipe, recipe_names  # noqa: F401


def train(config):
    """Runs or resumes the run ``config`` describes; returns the paths of its final result records."""
    from robench.train.main import train as run

    return run(config)
