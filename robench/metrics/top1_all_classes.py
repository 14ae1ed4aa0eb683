"""1000-way top-1 on the 200-class suites: the argmax over all 1000 logits, so that a prediction
outside the suite's 200 classes counts as wrong.

On ImageNet-R, ImageNet-A and their clean twins robench's ``top1`` (the ``accuracy`` metric) is the
standard masked number of Hendrycks et al.: the logits are restricted to the suite's 200 classes
before the argmax (``robench.engine.scoring``), so a model is never wrong for preferring a class the
data set cannot contain. Papers and model zoos also publish the 1000-way number, which is lower,
and the two are often mixed up (pytorch-image-models issue 2456, hendrycks/natural-adv-examples
pull request 15). This metric records the 1000-way number beside the masked one, under a name of
its own (``top1_1000way``, "top-1 (1000-way)"), so no record or table leaves in doubt which is which.

It applies only to suites with a ``label_subset`` (on the others the two numbers are the same thing).
The clean twins (``imagenet-val-r200``/``-a200``) get it too: their 1000-way top-1 is the clean
reference for the 1000-way R/A number, just as their masked ``top1`` is for the masked one.

On a suite scored over label sets (ObjectNet, ``robench.metrics.label_sets``) the 1000-way argmax is right
when it falls in the image's set (shift-happens' ObjectNet task: the 1000-way prediction mapped to an
ObjectNet class, -1 outside them); the per-sample store then keeps ``set_hit_1000way``.
"""
from robench.metrics.base import Metric, Value, count_problem

DEFINITION = (
    "top-1 accuracy (%) over all 1000 ImageNet classes: the argmax of the model's 1000 logits (the first "
    "maximal one on ties) must be the image's class, so a prediction outside the suite's 200 classes is "
    "wrong. The suite's `top1` is the standard masked number (argmax over its 200 classes only); papers "
    "report both and they are often confused (pytorch-image-models issue 2456, "
    "hendrycks/natural-adv-examples PR 15)"
)


class Top1AllClasses(Metric):
    name = "top1_all_classes"
    fields = {"correct1_1000way": ()}  # a count: merging tasks, ranks and slice results is a sum
    values = (Value("top1_1000way", True, DEFINITION, "top-1 (1000-way)"),)

    @classmethod
    def applies_to(cls, suite):
        return bool(getattr(suite, "label_subset", None))

    def update(self, state, scores):
        predicted = scores.full_logits.argmax(dim=1)
        state["correct1_1000way"] += scores.in_full_target(predicted[:, None])[:, 0].sum()

    def sample_columns(self, scores):
        predicted = scores.full_logits.argmax(dim=1)
        out = {"prediction_1000way": predicted.int().numpy()}
        if scores.full_target_sets is not None:
            out["set_hit_1000way"] = scores.in_full_target(predicted[:, None])[:, 0].numpy()
        return out

    def sample_state(self, columns):
        if "set_hit_1000way" in columns:
            return {"correct1_1000way": columns["set_hit_1000way"].astype(float)}
        return {"correct1_1000way": (columns["prediction_1000way"] == columns["label"]).astype(float)}

    def problem(self, state, n):
        return count_problem(state, "correct1_1000way", n)

    def compute(self, state, n):
        return {"top1_1000way": 100.0 * state["correct1_1000way"].item() / n}
