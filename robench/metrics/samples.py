"""The per-sample store: what each image contributes to every metric, so records can be rebuilt
(``robench rescore``), new metrics computed and images resampled (``robench.stats``) without the model.

Every metric's state is a sum over images. The store keeps, per image, the few numbers the built-in
metrics read from the logits, taken from the very tensors the metrics saw (``Scores``), so each metric's
``sample_state`` turns them back into per-image contributions whose sum is the recorded state, to the
last bit (sums of on-grid float64 values are exact, in any order).

The common columns (``COMMON``; classes are 1k indices, probabilities over the scored classes, which
are the suite's 200 on ImageNet-R/A):

- ``top5_class``, ``top5_prob``: the 5 highest logits' classes (the order ``accuracy`` uses) and their probabilities;
- ``label_prob``, ``label_logprob``, ``label_logit``: the true class's probability, log-probability (NLL)
  and logit; ``logsumexp``: of the scored logits (so ``logsumexp - label_logit`` is the NLL too);
- ``confidence``, ``prediction``: the highest probability and its class (calibration);
- ``nonfinite``: the model's row held NaN/inf and was replaced by a wrong prediction (``--nonfinite wrong``).

Metrics add their own (``Metric.sample_columns``): ``top1_all_classes`` the argmax of all 1000 logits
(``prediction_1000way``, the 1000-way number beside the masked one on R/A), ``cue_conflict`` the 16-way
decision (``cue_decision``). Full logits are not kept: 1000 float16 per image is 100 MB per 50,000
images, about 30 times this store.
"""
import numpy as np

from robench.errors import RobenchError

COMMON = ("top5_class", "top5_prob", "label_prob", "label_logprob", "label_logit", "logsumexp", "confidence",
          "prediction", "nonfinite")


class NotInStore(RobenchError):
    """A metric that the per-sample store cannot compute (it needs what the store does not keep)."""


def sample_columns(scores, metric_set, columns_1k=None):
    """{column: numpy array} of one batch (``scores``: the batch's ``Scores``); ``columns_1k`` maps the
    scored classes' positions to 1k indices (a suite's class subset; None: 1000-way)."""
    import torch

    to_1k = (lambda t: t) if columns_1k is None else (lambda t: columns_1k[t])
    target = scores.target[:, None]
    top5 = scores.top5
    conf, pred = scores.confidence_and_prediction
    out = {"top5_class": to_1k(top5).to(torch.int32).numpy(),
           "top5_prob": scores.probs.gather(1, top5).numpy(),
           "label_prob": scores.probs.gather(1, target)[:, 0].numpy(),
           "label_logprob": scores.log_probs.gather(1, target)[:, 0].numpy(),
           "label_logit": scores.logits.gather(1, target)[:, 0].numpy(),
           "logsumexp": scores.logits.logsumexp(dim=1).numpy(),
           "confidence": conf.numpy(), "prediction": to_1k(pred).to(torch.int32).numpy(),
           "nonfinite": scores.nonfinite.numpy()}
    for metric in metric_set.metrics:
        out.update(metric.sample_columns(scores))
    return out


def sample_states(metric_set, columns, fields=None):
    """{state field: (samples x field size) float64} over every metric of the set (or only those with a
    field in ``fields``); ``n`` is a column of ones."""
    size = len(columns["label"])
    out = {"n": np.ones((size, 1))}
    for metric in metric_set.metrics:
        if fields is not None and not set(metric.fields) & set(fields):
            continue
        contributions = metric.sample_state(columns)
        for field, shape in metric.fields.items():
            value = np.asarray(contributions[field], dtype=np.float64)
            out[field] = value.reshape(size, int(np.prod(shape, dtype=np.int64)))
    return out


def state_from_samples(metric_set, columns, where="per-sample store"):
    """The MetricState of ``columns`` (one variant's rows): the sum of every sample's contribution."""
    per_sample = sample_states(metric_set, columns)
    saved = {field: per_sample[field].sum(axis=0).reshape(shape).tolist() if shape else
             float(per_sample[field].sum()) for field, shape in metric_set.fields.items()}
    return metric_set.restore(saved, where)


def missing_columns(metric_set, columns):
    """Names of metrics of the set whose columns the store lacks (a file from an older robench)."""
    lacking = []
    for metric in metric_set.metrics:
        try:
            metric.sample_state({k: v[:0] if hasattr(v, "shape") else v[:0] for k, v in columns.items()})
        except (KeyError, NotInStore):
            lacking.append(metric.name)
    return lacking
