"""Top-1 / top-5 accuracy and top-1 error, in percent: the numbers every robustness table reports.

A hit is a predicted class that is the image's class, or, on a suite scored over label sets (ObjectNet:
``robench.metrics.label_sets``), any class of the image's set (``Scores.in_target``). There the per-sample
store also keeps ``set_rank``: the place (0-4) among the top 5 of the first class in the image's set, 5
when none is, from which the two counts follow."""
from robench.metrics.base import Metric, Value


class Accuracy(Metric):
    name = "accuracy"
    fields = {"correct1": (), "correct5": ()}
    values = (Value("top1", True, "top-1 accuracy (%)", "top-1"),
              Value("top5", True, "top-5 accuracy (%)", "top-5"),
              Value("error", False, "top-1 error (%): 100 - top-1", "error"))

    def update(self, state, scores):
        hit = scores.in_target(scores.top5)
        state["correct1"] += hit[:, 0].sum()
        state["correct5"] += hit.any(dim=1).sum()

    def sample_columns(self, scores):
        if scores.target_sets is None:
            return {}
        import torch

        hit = scores.in_target(scores.top5)
        rank = torch.where(hit.any(dim=1), hit.int().argmax(dim=1), torch.full_like(hit[:, 0], 5, dtype=torch.long))
        return {"set_rank": rank.to(torch.int8).numpy()}

    def sample_state(self, columns):
        if "set_rank" in columns:
            rank = columns["set_rank"]
            return {"correct1": (rank == 0).astype(float), "correct5": (rank < 5).astype(float)}
        hit = columns["top5_class"] == columns["label"][:, None]
        return {"correct1": hit[:, 0].astype(float), "correct5": hit.any(axis=1).astype(float)}

    def problem(self, state, n):
        c1, c5 = state["correct1"].item(), state["correct5"].item()
        return "" if c1 <= c5 <= n else f"correct1 {c1:g} <= correct5 {c5:g} <= n {n:g} does not hold"

    def compute(self, state, n):
        top1 = 100.0 * state["correct1"].item() / n
        return {"top1": top1, "top5": 100.0 * state["correct5"].item() / n, "error": 100.0 - top1}
