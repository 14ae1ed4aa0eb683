"""Expected calibration error (Guo et al., 2017) over 15 equal-width confidence bins, in percent.

Kept as three additive histograms (count, summed confidence, summed correctness per bin), so the ECE
of merged tasks is exactly the ECE of one pass."""
import torch

from robench.metrics.base import Metric, Value, on_grid, on_grid_numpy

ECE_BINS = 15


class ExpectedCalibrationError(Metric):
    name = "calibration"
    fields = {"bin_count": (ECE_BINS,), "bin_conf": (ECE_BINS,), "bin_correct": (ECE_BINS,)}
    values = (Value("ece", False, f"expected calibration error (%) over {ECE_BINS} equal-width confidence bins",
                    "ECE"),)

    def update(self, state, scores):
        conf, pred = scores.confidence_and_prediction
        correct = pred.eq(scores.target).double()
        bins = (conf.double() * ECE_BINS).long().clamp(0, ECE_BINS - 1)
        state["bin_count"] += torch.bincount(bins, minlength=ECE_BINS).double()
        state["bin_conf"] += torch.bincount(bins, weights=on_grid(conf), minlength=ECE_BINS)
        state["bin_correct"] += torch.bincount(bins, weights=correct, minlength=ECE_BINS)

    def sample_state(self, columns):
        import numpy as np

        conf = np.asarray(columns["confidence"]).astype(np.float64)
        bins = np.clip((conf * ECE_BINS).astype(np.int64), 0, ECE_BINS - 1)  # conf >= 0: truncation is floor
        one_hot = np.zeros((len(conf), ECE_BINS))
        one_hot[np.arange(len(conf)), bins] = 1.0
        correct = (columns["prediction"] == columns["label"]).astype(np.float64)
        return {"bin_count": one_hot, "bin_conf": one_hot * on_grid_numpy(conf)[:, None],
                "bin_correct": one_hot * correct[:, None]}

    def problem(self, state, n):
        count, correct = state["bin_count"], state["bin_correct"]
        if abs(count.sum().item() - n) > 0.5 or (correct > count).any():
            return "its histogram does not add up to the images counted"
        return ""

    def compute(self, state, n):
        gap = (state["bin_conf"] - state["bin_correct"]).abs().sum().item()
        return {"ece": 100.0 * gap / n}
