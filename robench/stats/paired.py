"""McNemar's exact test: do two models on the same images differ in accuracy?

Only the discordant images carry information: b (A right, B wrong) and c (A wrong, B right). Under
the null hypothesis each discordant image is equally likely either way, so b ~ Binomial(b + c, 1/2)
and the two-sided exact p-value is the binomial test's (the sum of the probabilities of the outcomes
no more likely than the one seen; for p = 1/2 this equals min(1, 2 * P(X <= min(b, c))))."""
import numpy as np


def discordant(correct_a, correct_b):
    """(b, c): images A got right and B wrong, and the reverse."""
    a, b = _pair(correct_a, correct_b)
    return int(np.sum(a & ~b)), int(np.sum(~a & b))


def mcnemar_exact(correct_a, correct_b):
    """{"a_only": b, "b_only": c, "p_value": two-sided exact p} of two models' per-image correctness
    (boolean arrays over the same images, in the same order). No discordant image: p = 1."""
    from scipy.stats import binom

    b, c = discordant(correct_a, correct_b)
    m = b + c
    p = 1.0 if m == 0 else min(1.0, 2.0 * float(binom.cdf(min(b, c), m, 0.5)))
    return {"a_only": b, "b_only": c, "p_value": p}


def _pair(correct_a, correct_b):
    a, b = np.asarray(correct_a).astype(bool).reshape(-1), np.asarray(correct_b).astype(bool).reshape(-1)
    if a.shape != b.shape:
        from robench.errors import RobenchError

        raise RobenchError(f"paired statistics need the same images: {a.size} and {b.size} predictions")
    return a, b
