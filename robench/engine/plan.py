"""One model's part in a run: its loaded module, measurement id, metric set and where its slice results live.

The measurement id is the identity of a measurement: a hash of what decides the numbers (model,
weights and their hash, preprocessing, suite, precision, and the JPEG decoder when it is the GPU's);
speed knobs (batch size, workers, channels_last, compile, world size) stay out of it, so a slice
computed one way is reused by a run configured another way. The metric set is kept apart: adding a
metric recomputes slices without changing the measurement id. ``--nonfinite wrong`` adds the
``nonfinite`` metric to the set (so its slice results are never mixed with a default run's, and the
count travels with the metric state). "Protocol" is kept for the benchmark's rules that a record may
depart from (``robench.leaderboard.protocol``).
"""
import torch

from robench.engine import slice_results
from robench.results import stable_hash


class ModelPlan:
    def __init__(self, model, suite, out_dir, precision="fp32", metric_set=None, decoder="cpu", nonfinite="error"):
        from robench.engine.gpu_decode import check_decode
        from robench.metrics.base import MetricSet

        check_decode(decoder)  # --decode gpu without CUDA: one line, before any work

        self.model, self.suite, self.out_dir = model, suite, out_dir
        self.metric_set = metric_set or MetricSet(suite.metrics, suite)
        if nonfinite == "wrong" and "nonfinite" not in self.metric_set.names:
            self.metric_set = MetricSet(self.metric_set.names + ["nonfinite"])
        self.module = model.module
        self.forward = self.module
        describe = model.describe()
        self.measured = {
            "model": {k: describe.get(k) for k in ("spec", "weights", "weights_sha256", "state_dict_sha256",
                                                    "data_config")},
            "suite": {"name": suite.name, "version": suite.version, "label_subset": suite.label_subset,
                      "resize": suite.resize},
            "precision": precision,
        }
        if decoder != "cpu":  # nvjpeg's pixels differ slightly from the CPU decoder's
            self.measured["decoder"] = decoder
        self.measurement_id = stable_hash(self.measured)

    def prepare(self, device, channels_last=False, compile=False):
        """Moves the model to ``device`` in eval mode; ``forward`` is what the loop calls."""
        self.module.to(device)
        if channels_last:
            self.module.to(memory_format=torch.channels_last)
        self.module.eval()
        self.forward = torch.compile(self.module) if compile else self.module

    def slice_result_path(self, variant_name, task=None):
        return slice_results.slice_result_path(self.out_dir, self.model.name, self.suite.name, variant_name, task)
