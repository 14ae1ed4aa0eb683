"""Mean negative log-likelihood of the true class (nats per image): how sure the model is when right
and how badly it is wrong, which accuracy alone hides."""
from robench.metrics.base import Metric, Value, on_grid, on_grid_numpy


class NegativeLogLikelihood(Metric):
    name = "nll"
    fields = {"nll_sum": ()}
    values = (Value("nll", False, "mean negative log-likelihood of the true class (nats per image)", "NLL"),)

    def update(self, state, scores):
        state["nll_sum"] -= on_grid(scores.log_probs.gather(1, scores.target[:, None])).sum()

    def sample_state(self, columns):
        return {"nll_sum": -on_grid_numpy(columns["label_logprob"])}

    def compute(self, state, n):
        return {"nll": state["nll_sum"].item() / n}
