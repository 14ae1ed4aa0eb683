"""Declared metrics: what a metric keeps (additive state fields), how it computes, which way is better.

A metric is one class in one module, registered by name in ``METRICS`` (entry point group
``robench.metrics`` for other packages). Its whole state is a few float64 tensors that only ever
get added to, so merging job-array tasks, ranks or a resumed run's slice results is a plain sum and distributed sync
is one all-reduce of one flat tensor (torchmetrics' idea, without "cat" state that grows with the
data). Every suite evaluates every registered metric unless it names its own list.

A ``MetricSet`` is the metrics of one run. Its ``id`` (names, versions and state fields) is part of
every saved slice result, progress file and record: state saved under another set is recomputed, never
zero-filled, and task records of different sets are never merged.
"""
from dataclasses import dataclass
from functools import cached_property
from typing import Optional

import torch

from robench.errors import RobenchError
from robench.registry import Registry

METRICS = Registry("metric", group="robench.metrics")
METRICS.register("accuracy", "robench.metrics.accuracy:Accuracy")
METRICS.register("nll", "robench.metrics.nll:NegativeLogLikelihood")
METRICS.register("calibration", "robench.metrics.calibration:ExpectedCalibrationError")
METRICS.register("cue_conflict", "robench.metrics.cue_conflict:CueConflict")
METRICS.register("top1_all_classes", "robench.metrics.top1_all_classes:Top1AllClasses")
METRICS.register("nonfinite", "robench.metrics.nonfinite:NonFinite")  # only with --nonfinite wrong

GRID = 2.0 ** 24  # sums of multiples of 2**-24 are exact in float64 below 2**29 (e.g. 50k images x NLL 10^4)


class StaleMetricState(RobenchError):
    """Saved metric state whose fields are not those of the current metric set."""


def on_grid(values):
    """Per-sample floats rounded to a 2**-24 grid, so that their float64 sums are exact and do not
    depend on how samples were split into batches, ranks, job-array tasks or resumed runs."""
    return torch.round(values.double() * GRID) / GRID


def on_grid_numpy(values):
    """``on_grid`` for numpy arrays (the per-sample store): the same float64 numbers, bit for bit."""
    import numpy as np

    return np.round(np.asarray(values).astype(np.float64) * GRID) / GRID


@dataclass(frozen=True)
class Value:
    """One number a metric reports (in a variant's ``metrics``)."""

    name: str
    higher_is_better: Optional[bool]  # None: neither (a count, say)
    definition: str
    header: str = ""  # short column header; the name when empty


class Metric:
    """Subclasses set ``name``, ``fields`` (state field -> shape) and ``values``, and implement
    ``update`` (add one batch into ``state``) and ``compute`` (state -> {value name: number or None}).
    ``applies_to(suite)`` says which suites evaluate it (default: every suite); a suite that names its
    own ``metrics`` gets exactly those."""

    name = ""
    version = "1"  # bump when the meaning of the state changes: saved state is then recomputed
    fields = {}
    values = ()

    @classmethod
    def applies_to(cls, suite):
        return True

    def problem(self, state, n):
        """Why a saved ``state`` over ``n`` images cannot have been made by this metric ('' if it can):
        resume state that does not add up is recomputed, never trusted."""
        return ""

    def update(self, state, scores):
        raise NotImplementedError

    def compute(self, state, n):
        raise NotImplementedError

    def sample_columns(self, scores):
        """Per-sample columns this metric needs in the per-sample store beyond the common ones
        (``robench.metrics.samples.COMMON``): {column name: numpy array with one row per sample}."""
        return {}

    def sample_state(self, columns):
        """{state field: numpy array (samples x field shape)}: each sample's contribution to the state,
        from the per-sample store's ``columns`` (numpy arrays). Their sum over samples is the state
        ``update`` adds up, exactly, so ``robench rescore`` rebuilds records without the model and a
        bootstrap resamples images. A metric that cannot be computed from the store raises
        ``robench.metrics.samples.NotInStore``."""
        from robench.metrics.samples import NotInStore

        raise NotInStore(f"metric '{self.name}' cannot be computed from the per-sample store (it defines no "
                         "sample_state)")


def count_problem(state, field, n):
    """'' when ``state[field]`` is a whole count between 0 and ``n``, else what is wrong with it."""
    count = state[field].item()
    if count != int(count) or not 0 <= count <= n:
        return f"{field} {count:g} is not a count between 0 and n {n:g}"
    return ""


class Scores:
    """One batch as the metrics see it: logits over the scored classes and target positions among
    them, with the softmax and top-k computed once for all metrics. ``full_logits``/``full_target`` are
    the model's 1000-way logits and the 1k labels (the same tensors unless the suite scores a class
    subset), and ``keys`` the samples' names in their data set (e.g. 'airplane/airplane1-bicycle2.png'),
    for metrics that read something from them. ``nonfinite`` (bool per sample, all False unless given)
    marks the rows the model returned with NaN or infinite logits, which the engine replaced by a wrong
    prediction (``--nonfinite wrong``, ``robench.engine.scoring.counted_wrong``): the logits every metric
    sees are finite, and a metric with a better rule for such rows than the replacement can read it.
    ``target_sets`` / ``full_target_sets`` (bool, N x scored classes / N x 1000; None unless the suite
    scores label sets, ``robench.metrics.label_sets``) mark every class that is a right answer for each
    image; ``in_target`` / ``in_full_target`` answer "is this prediction right" either way."""

    def __init__(self, logits, target, full_logits=None, full_target=None, keys=None, nonfinite=None,
                 target_sets=None, full_target_sets=None):
        self.logits, self.target = logits.detach().float().cpu(), target.detach().long().cpu()
        self.full_logits = self.logits if full_logits is None else full_logits.detach().float().cpu()
        self.full_target = self.target if full_target is None else full_target.detach().long().cpu()
        self.keys = list(keys) if keys is not None else None
        self.nonfinite = torch.zeros(self.target.shape[0], dtype=torch.bool) if nonfinite is None \
            else torch.as_tensor(nonfinite, dtype=torch.bool).cpu()
        self.target_sets = None if target_sets is None else torch.as_tensor(target_sets, dtype=torch.bool).cpu()
        self.full_target_sets = None if full_target_sets is None \
            else torch.as_tensor(full_target_sets, dtype=torch.bool).cpu()

    def in_target(self, positions):
        """Bool shaped like ``positions`` (N x k positions among the scored classes): each is a right answer
        for its row's image (its class, or a class of its label set)."""
        if self.target_sets is None:
            return positions.eq(self.target[:, None])
        return self.target_sets.gather(1, positions)

    def in_full_target(self, classes):
        """``in_target`` for 1k class indices (N x k)."""
        if self.full_target_sets is None:
            return classes.eq(self.full_target[:, None])
        return self.full_target_sets.gather(1, classes)

    @cached_property
    def log_probs(self):
        return self.logits.log_softmax(dim=1)

    @cached_property
    def probs(self):
        return self.log_probs.exp()

    @cached_property
    def top5(self):
        return self.logits.topk(min(5, self.logits.shape[1]), dim=1).indices

    @cached_property
    def confidence_and_prediction(self):
        return self.probs.max(dim=1)


class MetricSet:
    """The metrics of one run, in registry order; ``names=None`` means every registered metric."""

    def __init__(self, names=None, suite=None):
        if names is None:
            names = [n for n in METRICS.names() if suite is None or METRICS.get(n).applies_to(suite)]
        self.names = list(names)
        self.metrics = [METRICS.get(name)() for name in self.names]
        self.fields = {"n": ()}
        for metric in self.metrics:
            for field, shape in metric.fields.items():
                if field in self.fields:
                    raise RobenchError(f"metric '{metric.name}' declares state field '{field}', which another "
                                       "metric of the set already declares; give it a name of its own")
                self.fields[field] = tuple(shape)
        from robench.results import stable_hash

        self.id = stable_hash([[m.name, m.version, sorted(m.fields.items())] for m in self.metrics])

    @property
    def values(self):
        return [v for m in self.metrics for v in m.values]

    def new(self):
        return MetricState(self)

    def restore(self, saved, where="saved state"):
        """A MetricState from a saved ``state_dict``; StaleMetricState when its fields differ."""
        if not isinstance(saved, dict) or set(saved) != set(self.fields):
            have = sorted(saved) if isinstance(saved, dict) else type(saved).__name__
            raise StaleMetricState(f"{where} holds metric fields {have}, not those of this metric set "
                                   f"({', '.join(self.names)}: {sorted(self.fields)})")
        state = MetricState(self)
        for field, shape in self.fields.items():
            value = torch.as_tensor(saved[field], dtype=torch.float64)
            if value.numel() != torch.Size(shape).numel():
                raise StaleMetricState(f"{where}: metric field '{field}' has {value.numel()} numbers, "
                                       f"expected shape {shape}")
            if not torch.isfinite(value).all() or (value < 0).any():
                raise StaleMetricState(f"{where}: metric field '{field}' holds negative, NaN or infinite numbers")
            state.state[field] = value.reshape(shape).clone()
        n = state.state["n"].item()
        for metric in self.metrics:
            problem = metric.problem(state.state, n)
            if problem:
                raise StaleMetricState(f"{where}: {metric.name}: {problem}")
        return state


class MetricState:
    """The additive state of a MetricSet over everything it was updated with."""

    def __init__(self, metric_set):
        self.set = metric_set
        self.state = {k: torch.zeros(shape, dtype=torch.float64) for k, shape in metric_set.fields.items()}

    @torch.no_grad()
    def update(self, logits, target, **context):
        """Adds one batch and returns its ``Scores``; ``target`` holds class positions in ``logits``'
        columns; ``context``: the other fields of ``Scores`` (full_logits, full_target, keys, nonfinite,
        target_sets, full_target_sets)."""
        scores = Scores(logits, target, **context)
        self.state["n"] += scores.target.numel()
        for metric in self.set.metrics:
            metric.update(self.state, scores)
        return scores  # the per-sample store reads the same tensors (robench.metrics.samples)

    def merge(self, other):
        """Adds another state of the same set into this one (tasks, ranks, slice results); returns self."""
        if other.set.id != self.set.id:
            raise StaleMetricState("cannot add metric states of different metric sets")
        for k in self.state:
            self.state[k] += other.state[k]
        return self

    def flat(self):
        return torch.cat([v.reshape(-1) for v in self.state.values()])

    def load_flat(self, flat):
        offset = 0
        for k, v in self.state.items():
            n = v.numel()
            self.state[k] = flat[offset: offset + n].reshape(v.shape).to(torch.float64).cpu().clone()
            offset += n
        return self

    def state_dict(self):
        """JSON-ready state (numbers as numbers)."""
        return {k: (v.item() if v.dim() == 0 else v.tolist()) for k, v in self.state.items()}

    @property
    def count(self):
        return int(self.state["n"].item())

    def compute(self):
        """{value name: number or None (no samples)} over every metric of the set."""
        n = self.state["n"].item()
        out = {}
        for metric in self.set.metrics:
            if n == 0:
                out.update({v.name: None for v in metric.values})
            else:
                out.update(metric.compute(self.state, n))
        return out
