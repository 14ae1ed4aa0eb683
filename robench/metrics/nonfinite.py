"""Images whose logits held NaN or infinite values, counted as wrong predictions (``--nonfinite wrong``).

By default a model whose forward pass returns a non-finite logit fails as a whole
(``robench.engine.model_output``). With ``robench eval --nonfinite wrong`` the engine instead scores
such an image as a wrong prediction (``robench.engine.scoring.counted_wrong``: its 1000-way row is
replaced, for every metric, by logits 0 with ``WRONG_TARGET_LOGIT`` at the image's class) and this
metric counts those images. It is part of the metric set only when that option is given
(``applies_to`` is False for every suite), so the records and slice results of default runs do not change,
and slice results made with and without the option are never mixed up (their metric sets differ).

Its state is one count, so progress files, slice results, ranks and job-array tasks add up like
every other metric's; the record holds the count per variant (``metrics.nonfinite``) and the total
(``aggregates.nonfinite``), and the leaderboard ranks a record with a non-zero count apart.
"""
from robench.metrics.base import Metric, Value, count_problem

DEFINITION = ("images whose logit row held a NaN or infinite value, scored as wrong predictions "
              "(robench eval --nonfinite wrong): the row is replaced by logits 0 with -100 at the image's class "
              "(top-1 and top-5 wrong, NLL about 100 + ln(classes - 1) nats, confidence 1/(classes - 1))")


class NonFinite(Metric):
    name = "nonfinite"
    fields = {"nonfinite": ()}  # a count: merging tasks, ranks and slice results is a sum
    values = (Value("nonfinite", None, DEFINITION, "non-finite"),)

    @classmethod
    def applies_to(cls, suite):
        return False  # only on request (--nonfinite wrong): never in a suite's default metric set

    def update(self, state, scores):
        state["nonfinite"] += scores.nonfinite.sum()

    def sample_state(self, columns):
        return {"nonfinite": columns["nonfinite"].astype(float)}

    def problem(self, state, n):
        return count_problem(state, "nonfinite", n)

    def compute(self, state, n):
        return {"nonfinite": int(state["nonfinite"].item())}
