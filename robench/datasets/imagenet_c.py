"""ImageNet-C (Hendrycks & Dietterich, 2019): ``<root>/<corruption>/<severity 1-5>/<wnid>/*.JPEG``.

The corruption-benchmark suite (``corruption_benchmark.CorruptionSuite``) with AlexNet's published
table: the 15 benchmark corruptions x 5 severities are the benchmark (mCE, mean error); the 4 extra
corruptions are evaluated when their folders are present and reported apart. The released images are
224x224 crops already, so they are used without resize or crop. Relative mCE needs the same model's
clean error: it is joined at report time with its ``imagenet`` record. A root made by robench
(``robench data synth``) holds ``robench-generated.json``: its records say ``data_origin: generated``
and never share a column with the released data.
"""
from robench.datasets.corruption_benchmark import CorruptionSuite
from robench.datasets.declare import Column
from robench.metrics import imagenet_c as alexnet_table


class ImageNetCSuite(CorruptionSuite):
    name = "imagenet-c"
    title = "ImageNet-C"
    description = ("ImageNet-C: 15 corruptions x 5 severities (+4 extra, apart), 224px as released, no resize; "
                   "mCE, relative mCE (AlexNet-normalised), mean error")
    layout = "<corruption>/<severity 1-5>/<wnid>/*.JPEG (50,000 per cell, 224x224)"
    folder_names = ("imagenet-c", "ImageNet-C")
    n_official = 50_000
    columns = (
        Column("imagenet_c_mean_error", "ImageNet-C mean error", False,
               "unnormalised mean top-1 error (%) over the 15 benchmark corruptions x 5 severities of ImageNet-C "
               "(released 224 px JPEGs, no resize or crop). This is the number the paper reports as "
               "'ImageNet-C'; it is not the AlexNet-normalised mCE.", source="aggregate", key="mean_error",
               core=True, plot_label="ImageNet-C (100 − mean error)", plot_marker="D", error_like=True),
        Column("imagenet_c_mce", "mCE", False,
               "ImageNet-C mean Corruption Error (%): for each of the 15 benchmark corruptions, the model's top-1 "
               "error summed over the 5 severities divided by AlexNet's, then averaged over the corruptions "
               "(Hendrycks & Dietterich, 2019).", source="aggregate", key="mce", core=True),
        Column("imagenet_c_relative_mce", "relative mCE", False,
               "ImageNet-C relative mCE (%): like mCE, but on the increase of error over clean ImageNet error "
               "(the model's and AlexNet's), averaged over the 15 corruptions; joined from the model's clean "
               "ImageNet record.", source="joined", key="relative_mce", core=True),
    )

    @property
    def table(self):
        return alexnet_table.table()

    def write_generated(self, out, **options):
        from robench.datasets import synth

        return synth.write_imagenet_c(out, **options)
