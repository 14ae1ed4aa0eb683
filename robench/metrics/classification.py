"""Classification metrics whose whole state is a few additive tensors.

Merging two shards, two ranks or a resumed run's cells is then a plain sum, and distributed sync
is one all-reduce of one flat tensor. Sums are float64: exact for counts up to 2**53. Per-sample NLL
and confidence are rounded to a 2**-24 grid before summing, so every partial sum is exact and the
state does not depend on how samples were split into batches, ranks, shards or resumed runs.
"""
import torch

ECE_BINS = 15
GRID = 2.0 ** 24  # sums of multiples of 2**-24 are exact in float64 below 2**29 (e.g. 50k images x NLL 10^4)


def _on_grid(values):
    return torch.round(values.double() * GRID) / GRID


class ClassificationMetrics:
    """top-1/top-5 accuracy, error, mean NLL and binned ECE over everything it was updated with."""

    FIELDS = {"n": (), "correct1": (), "correct5": (), "nll_sum": (),
              "bin_count": (ECE_BINS,), "bin_conf": (ECE_BINS,), "bin_correct": (ECE_BINS,)}

    def __init__(self, state=None):
        self.state = {k: torch.zeros(shape, dtype=torch.float64) for k, shape in self.FIELDS.items()}
        if state is not None:
            for k, v in state.items():
                if k not in self.state:
                    raise ValueError(f"unknown metric state field '{k}'")
                self.state[k] = torch.as_tensor(v, dtype=torch.float64).reshape(self.FIELDS[k]).clone()

    @torch.no_grad()
    def update(self, logits, target):
        """Adds one batch; ``target`` holds class positions in ``logits``' columns."""
        logits, target = logits.detach().float().cpu(), target.detach().long().cpu()
        log_probs = logits.log_softmax(dim=1)
        k = min(5, logits.shape[1])
        top = logits.topk(k, dim=1).indices
        hit = top.eq(target[:, None])
        conf, pred = log_probs.exp().max(dim=1)
        correct = pred.eq(target).double()
        conf_sum = _on_grid(conf)
        bins = (conf.double() * ECE_BINS).long().clamp(0, ECE_BINS - 1)
        s = self.state
        s["n"] += target.numel()
        s["correct1"] += hit[:, 0].sum()
        s["correct5"] += hit.any(dim=1).sum()
        s["nll_sum"] -= _on_grid(log_probs.gather(1, target[:, None])).sum()
        s["bin_count"] += torch.bincount(bins, minlength=ECE_BINS).double()
        s["bin_conf"] += torch.bincount(bins, weights=conf_sum, minlength=ECE_BINS)
        s["bin_correct"] += torch.bincount(bins, weights=correct, minlength=ECE_BINS)

    def merge(self, other):
        """Adds another metric's state into this one (shards, ranks, cells); returns self."""
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
        """Percentages (0-100) for top-1, top-5, error and ECE; NLL in nats per image."""
        s, n = self.state, self.state["n"].item()
        if n == 0:
            return {"top1": None, "top5": None, "error": None, "nll": None, "ece": None}
        gap = (s["bin_conf"] - s["bin_correct"]).abs().sum().item()
        top1 = 100.0 * s["correct1"].item() / n
        return {"top1": top1, "top5": 100.0 * s["correct5"].item() / n, "error": 100.0 - top1,
                "nll": s["nll_sum"].item() / n, "ece": 100.0 * gap / n}
