"""Turning a model's 1000-way logits into a suite's scores (and, on request, its predictions).

Suites over a 200-class subset (ImageNet-R, ImageNet-A) are scored on those classes only: the
logits are restricted to the subset's columns (in sorted-wnid order) before argmax and softmax,
so a model that puts its maximum on a class outside the subset is still scored among the 200.
Predictions name classes by their 1k index in either case; with ``--save-predictions`` they are the
per-sample store of ``robench.metrics.samples`` (what every metric needs, from the same tensors).

With ``--nonfinite wrong`` an image whose 1000-way logit row holds a NaN or an infinity is scored as a
wrong prediction by every metric: ``counted_wrong`` replaces its row by logits 0 with
``WRONG_TARGET_LOGIT`` (-100) at the image's class, before the subset restriction, so the class is the
lowest of the row: top-1 and top-5 (and the 1000-way top-1) are wrong, the class gets probability
about e^-100 / (classes - 1) (NLL about 100 + ln(classes - 1) nats: 106.9 over 1000 classes, 105.3
over 200), and the prediction's confidence is 1 / (classes - 1), in the lowest calibration bin. The
``nonfinite`` metric counts these rows (the metrics see them in ``Scores.nonfinite``); the predictions
file shows the replacement row (its ``label_prob`` is 0). By default (``error``) such logits never
get here: the model fails (``model_output.checked_logits``).

A variant whose source carries label sets (``source.label_sets``, ObjectNet: ``robench.metrics.label_sets``)
is scored over the union of its sets: the logits are restricted to the union's columns, each label (a
set's representative) becomes the mask of the classes its set allows (``Scores.target_sets``, over the
scored columns, and ``full_target_sets`` over the 1000), and the metrics count a prediction in the set
as right. ``Scorer.for_variant`` gives the scorer of a variant; a row replaced under ``--nonfinite wrong``
gets ``WRONG_TARGET_LOGIT`` at every class of its set, so its prediction is outside the set.
"""
import torch

from robench.errors import RobenchError
from robench.labels import subset_indices

TOP_K = 5
NONFINITE = ("error", "wrong")  # --nonfinite: what non-finite logits are
WRONG_TARGET_LOGIT = -100.0  # the image's class in the row that replaces a non-finite one (others: 0)


def nonfinite_rows(logits):
    """Bool per row: the row holds a NaN or an infinite value."""
    return ~torch.isfinite(logits).all(dim=1)


def counted_wrong(logits, labels, rows, allowed=None):
    """``logits`` (N x 1000) with the ``rows`` (bool per row) replaced by a wrong prediction: 0 for every
    class, ``WRONG_TARGET_LOGIT`` for the row's class (``labels``: 1k indices), or for every class its
    label set allows (``allowed``: N x 1000 bool)."""
    if not rows.any():
        return logits
    out = logits.clone()
    out[rows] = 0.0
    if allowed is not None:
        replaced = torch.zeros(int(rows.sum()), logits.shape[1], dtype=logits.dtype)
        replaced[allowed[rows]] = WRONG_TARGET_LOGIT
        out[rows] = replaced
        return out
    where = rows.nonzero()[:, 0]
    out[where, labels[where]] = WRONG_TARGET_LOGIT
    return out


class Scorer:
    def __init__(self, label_subset=None, nonfinite="error", label_sets=None):
        if nonfinite not in NONFINITE:
            raise RobenchError(f"nonfinite must be one of {', '.join(NONFINITE)}, not {nonfinite!r}")
        if label_subset and label_sets is not None:
            raise RobenchError("a suite is scored on a class subset or over label sets, not both")
        self.label_subset, self.nonfinite, self.label_sets = label_subset, nonfinite, label_sets
        self.columns = None
        self._by_sets = {}
        cols = subset_indices(label_subset) if label_subset else (label_sets.union if label_sets is not None else None)
        if cols is not None:
            self.columns = torch.tensor(cols, dtype=torch.long)
            self.position = torch.full((1000,), -1, dtype=torch.long)
            self.position[self.columns] = torch.arange(len(cols))

    def for_variant(self, variant):
        """The scorer of ``variant``: this one, or one over the label sets its source carries."""
        sets = getattr(variant.source, "label_sets", None)
        if sets is None:
            return self
        if sets not in self._by_sets:
            self._by_sets[sets] = Scorer(self.label_subset, self.nonfinite, sets)
        return self._by_sets[sets]

    def update(self, metrics, logits, labels, predictions=False, keys=None):
        """Adds a batch to ``metrics`` (a MetricState); with ``predictions``, returns the batch's top-k rows.
        The metrics also see the 1000-way logits, the 1k labels and the samples' ``keys``."""
        logits = logits.detach().float().cpu()
        if logits.shape[1] != 1000:
            raise RobenchError(
                f"the model outputs {logits.shape[1]} classes; robench suites score the 1000 "
                "ImageNet-1k classes (labels are 1k indices in sorted-wnid order)")
        labels = full_labels = labels.cpu()
        sets = {}
        if self.label_sets is not None:
            if not self.label_sets.is_label(labels).all():
                raise RobenchError("an image's label is not one of this variant's label sets")
            sets["full_target_sets"] = self.label_sets.allowed_1k(labels)
            sets["target_sets"] = sets["full_target_sets"][:, self.columns]
        bad = nonfinite_rows(logits)
        if bad.any():
            if self.nonfinite != "wrong":
                raise RobenchError(f"non-finite logits in {int(bad.sum())} row(s) (--nonfinite wrong counts such "
                                   "images as wrong predictions)")
            logits = counted_wrong(logits, labels, bad, sets.get("full_target_sets"))
        full_logits = logits
        if self.columns is not None:
            logits = logits[:, self.columns]
            labels = self.position[labels]
            if (labels < 0).any():
                raise RobenchError("an image's class is outside this suite's 200-class subset")
        scores = metrics.update(logits, labels, full_logits=full_logits, full_target=full_labels, keys=keys,
                                nonfinite=bad, **sets)
        if not predictions:
            return None
        from robench.metrics.samples import sample_columns

        return sample_columns(scores, metrics.set, self.columns)  # the tensors the metrics saw: rescoring is exact
