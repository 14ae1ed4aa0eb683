"""Turning a model's 1000-way logits into a suite's scores (and, on request, its predictions).

Suites over a 200-class subset (ImageNet-R, ImageNet-A) are scored on those classes only: the
logits are restricted to the subset's columns (in sorted-wnid order) before argmax and softmax,
so a model that puts its maximum on a class outside the subset is still scored among the 200.
Predictions name classes by their 1k index in either case.
"""
import torch

from robench.errors import RobenchError
from robench.labels import subset_indices

TOP_K = 5


class Scorer:
    def __init__(self, label_subset=None):
        self.columns = None
        if label_subset:
            cols = subset_indices(label_subset)
            self.columns = torch.tensor(cols, dtype=torch.long)
            self.position = torch.full((1000,), -1, dtype=torch.long)
            self.position[self.columns] = torch.arange(len(cols))

    def update(self, metrics, logits, labels, predictions=False, keys=None):
        """Adds a batch to ``metrics`` (a MetricState); with ``predictions``, returns the batch's top-k rows.
        The metrics also see the 1000-way logits, the 1k labels and the samples' ``keys``."""
        logits = logits.detach().float().cpu()
        if logits.shape[1] != 1000:
            raise RobenchError(
                f"the model outputs {logits.shape[1]} classes; robench suites score the 1000 "
                "ImageNet-1k classes (labels are 1k indices in sorted-wnid order)")
        labels = full_labels = labels.cpu()
        full_logits = logits
        if self.columns is not None:
            logits = logits[:, self.columns]
            labels = self.position[labels]
            if (labels < 0).any():
                raise RobenchError("an image's class is outside this suite's 200-class subset")
        metrics.update(logits, labels, full_logits=full_logits, full_target=full_labels, keys=keys)
        return self._top_k(logits, labels) if predictions else None

    def _top_k(self, logits, positions):
        """{'top5_class': N x 5 1k indices, 'top5_prob': N x 5, 'label_prob': N} as numpy arrays."""
        probs = logits.softmax(dim=1)
        top = probs.topk(min(TOP_K, probs.shape[1]), dim=1)
        classes = top.indices if self.columns is None else self.columns[top.indices]
        return {"top5_class": classes.to(torch.int32).numpy(), "top5_prob": top.values.numpy(),
                "label_prob": probs.gather(1, positions[:, None])[:, 0].numpy()}
