"""A reference model for generated data: it reads the class from the image's mean colour.

Not a real classifier: it exists so that tests and the demo can check the evaluation pipeline
end to end against known answers (the colour code: ``robench.datasets.colour_code``).
"""
import torch
from torch import nn

from robench.datasets.colour_code import LEVEL_BASE, LEVEL_STEP

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ColourOracle(nn.Module):
    def __init__(self, num_classes=1000, confidence=8.0):
        super().__init__()
        self.num_classes = num_classes
        self.confidence = confidence
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.pretrained_cfg = {
            "input_size": (3, 64, 64), "crop_pct": 0.875, "interpolation": "bilinear",
            "mean": IMAGENET_MEAN, "std": IMAGENET_STD, "num_classes": num_classes,
        }

    def forward(self, x):
        rgb = (x * self.std + self.mean).mean(dim=(2, 3)) * 255.0
        levels = ((rgb - LEVEL_BASE) / LEVEL_STEP).round().clamp(0, 9).long()
        index = levels[:, 0] * 100 + levels[:, 1] * 10 + levels[:, 2]
        index = index.clamp(max=self.num_classes - 1)
        logits = torch.zeros(x.shape[0], self.num_classes, device=x.device, dtype=x.dtype)
        return logits.scatter(1, index[:, None], self.confidence)


def colour_oracle(**kwargs):
    return ColourOracle(**kwargs)
