"""Example-C: a corruption benchmark added by another package, as a corruption set plus a few lines.

Layout ``<root>/<corruption>/<severity 1-3>/<wnid>/*.png``; the numbers come from robench's
corruption-benchmark base (mCE, mean error, relative mCE joined with the clean ImageNet record,
per-corruption tables and plots), normalised by the made-up baseline in ``example_c.csv``.
"""
import os
from functools import lru_cache

import numpy as np
from PIL import Image

from robench.datasets.base import write_generated_marker
from robench.datasets.corruption_benchmark import CorruptionSuite
from robench.datasets.declare import Column
from robench.metrics.corruption import CorruptionSet


@lru_cache(maxsize=None)
def example_corruption_set():
    return CorruptionSet.from_package("robench_example_plugin", "example_c.csv", "Example-C", "the baseline")


class ExampleCSuite(CorruptionSuite):
    name = "example-c"
    title = "Example-C"
    description = "Example-C: 2 corruptions x 3 severities (+1 extra), as released at 32 px; mCE, mean error"
    layout = "<corruption>/<severity 1-3>/<wnid>/*.png (32x32)"
    folder_names = ("example-c",)
    image_glob = "*.png"
    stored_size = 32
    cell_size = 100
    columns = (Column("example_c_mce", "Example-C mCE", False, "mean corruption error on Example-C (%), "
                      "normalised by its made-up baseline", source="aggregate", key="mce"),
               Column("example_c_relative_mce", "Example-C relative mCE", False,
                      "relative mCE on Example-C (%), joined with the model's clean ImageNet record",
                      source="joined", key="relative_mce"))

    @property
    def corruption_set(self):
        return example_corruption_set()

    def write_generated(self, out, *, n_classes=3, per_class=2, size=32, seed=0, labels=None):
        """Images of the colour code (robench.datasets.colour_code), with noise that grows with severity."""
        from robench.datasets.colour_code import choose_classes, make_image
        from robench.labels import imagenet_wnids

        labels = labels or choose_classes(n_classes, seed)
        count = 0
        for label in labels:
            for j in range(per_class):
                clean = np.asarray(make_image(label, np.random.default_rng([seed, label, j]), size, size), float)
                for corruption in self.corruption_set.all:
                    for severity in self.corruption_set.severities:
                        rng = np.random.default_rng([seed, label, j, severity, len(corruption)])
                        pixels = clean + rng.normal(0, 12 * severity, clean.shape)
                        folder = os.path.join(out, corruption, str(severity), imagenet_wnids()[label])
                        os.makedirs(folder, exist_ok=True)
                        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
                        image.save(os.path.join(folder, f"example_{label:04d}_{j}.png"))
                        count += 1
        write_generated_marker(out, generator="robench_example_plugin", size=size, seed=seed)
        return count
