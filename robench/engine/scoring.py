"""Turning a model's 1000-way logits into a suite's scores.

Suites over a 200-class subset (ImageNet-R, ImageNet-A) are scored on those classes only: the
logits are restricted to the subset's columns (in sorted-wnid order) before argmax and softmax,
so a model that puts its maximum on a class outside the subset is still scored among the 200.
"""
import torch

from robench.errors import RobenchError
from robench.labels import subset_indices


class Scorer:
    def __init__(self, label_subset=None):
        self.columns = None
        if label_subset:
            cols = subset_indices(label_subset)
            self.columns = torch.tensor(cols, dtype=torch.long)
            self.position = torch.full((1000,), -1, dtype=torch.long)
            self.position[self.columns] = torch.arange(len(cols))

    def update(self, metrics, logits, labels):
        logits = logits.float()
        if logits.shape[1] != 1000:
            raise RobenchError(
                f"the model outputs {logits.shape[1]} classes; robench suites score the 1000 "
                "ImageNet-1k classes (labels are 1k indices in sorted-wnid order)")
        labels = labels.to(logits.device)
        if self.columns is not None:
            logits = logits[:, self.columns.to(logits.device)]
            labels = self.position.to(logits.device)[labels]
            if (labels < 0).any():
                raise RobenchError("an image's class is outside this suite's 200-class subset")
        metrics.update(logits, labels)
