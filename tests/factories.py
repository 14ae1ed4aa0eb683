"""Tiny models for `module:factory` specs in tests (stand-ins for users' own model code)."""
import torch
from torch import nn


class TinyNet(nn.Module):
    """A small CNN with 1000 outputs and no pretrained config (so defaults apply)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 8, 3, stride=2)
        self.fc = nn.Linear(8, 1000)
        self.num_classes = 1000

    def forward(self, x):
        return self.fc(self.conv(x).mean(dim=(2, 3)))


def tiny_net():
    return TinyNet()


def not_a_module():
    return 42
