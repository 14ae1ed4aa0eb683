"""The Brier score (Brier, 1950): mean squared distance between the softmax and the one-hot label.

One module is the whole metric: its additive state (a sum on the exact 2**-24 grid), how it is
updated and computed, its direction and its definition."""
from robench.metrics.base import Metric, Value, on_grid


class BrierScore(Metric):
    name = "brier"
    fields = {"brier_sum": ()}
    values = (Value("brier", False, "mean Brier score: sum over classes of (p_k - y_k)^2, per image", "Brier"),)

    def update(self, state, scores):
        probs = scores.probs.double()
        truth = probs.gather(1, scores.target[:, None])[:, 0]
        per_image = (probs * probs).sum(dim=1) - 2 * truth + 1
        state["brier_sum"] += on_grid(per_image).sum()

    def compute(self, state, n):
        return {"brier": state["brier_sum"].item() / n}
