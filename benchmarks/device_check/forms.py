"""The two sequences of checks: the GPU form (a CUDA machine) and the CPU-only form (CI, laptops)."""
import os
import time
import traceback

from .checks import cuda_tests, decode_gpu_refused, eval_row, torchrun_world
from .data import val_like
from .runs import ORACLE
from .throughput import skipped_throughput, throughput

NO_CUDA = "no CUDA device (torch.cuda.is_available() is False)"
CUDA_TESTS = "cuda-marked tests (pytest -m cuda tests)"


def gpu_form(check, args, work):
    import torch

    gpus = torch.cuda.device_count()
    check.run(CUDA_TESTS, lambda: cuda_tests(args.test_timeout))
    data = os.path.join(work, "eval-data")
    val_like(data, args.eval_images, 4, size=(320, 240))
    model = args.eval_model
    rows = [("fp32", []), ("bf16", ["--precision", "bf16"]), ("fp16", ["--precision", "fp16"]),
            ("fp32, channels-last", ["--channels-last"]),
            ("bf16, channels-last, --compile", ["--precision", "bf16", "--channels-last", "--compile"]),
            ("bf16, --decode gpu", ["--precision", "bf16", "--decode", "gpu"])]
    for label, extra in rows:
        out = os.path.join(work, "eval-" + label.replace(" ", "").replace(",", "-").replace("--", ""))
        check.run(f"eval {model} on cuda, {label}",
                  lambda extra=extra, out=out: eval_row(data, out, model, ["--device", "cuda", "-b", "64", "-j",
                                                                           str(args.workers), *extra],
                                                        args.eval_images))
    if gpus >= 2:
        check.run("torchrun world of 2 (nccl, 2 GPUs)",
                  lambda: torchrun_world(data, os.path.join(work, "dist"), "cuda", args.test_timeout))
    else:
        check.run("torchrun world of 2 (gloo on the CPU: one GPU)",
                  lambda: torchrun_world(data, os.path.join(work, "dist"), "cpu", args.test_timeout) +
                  "; nccl needs 2 GPUs (robench puts rank r on cuda:LOCAL_RANK)")
    print("- throughput (ResNet-50, bf16, channels-last) ...", flush=True)
    start = time.perf_counter()
    try:
        throughput(check, args)
        check.checks.append({"name": "throughput table", "status": "ok",
                             "seconds": round(time.perf_counter() - start, 1), "detail": "see throughput"})
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        check.checks.append({"name": "throughput table", "status": "failed",
                             "seconds": round(time.perf_counter() - start, 1), "detail": f"{type(e).__name__}: {e}"})
        if not check.throughput:
            skipped_throughput(check, f"failed before measuring: {type(e).__name__}: {e}")


def cpu_form(check, args, work, reason):
    from robench.datasets.imagenet import write_imagenet
    from robench.engine.gpu_decode import cuda_available

    check.skip(CUDA_TESTS, reason)
    data = os.path.join(work, "tiny")
    write_imagenet(data, n_classes=4, per_class=2, size=32, seed=0)
    check.run("eval colour oracle on cpu, fp32 (tiny)",
              lambda: eval_row(data, os.path.join(work, "eval-cpu"), ORACLE, ["--device", "cpu", "-j", "0", "-b", "4"],
                               8))
    for label in ("bf16", "fp16", "channels-last", "--compile"):
        check.skip(f"eval resnet on cuda, {label}", reason)
    refusal = "--decode gpu without CUDA: one-line error before any work"
    if cuda_available():
        check.skip(refusal, "CUDA is available here (--cpu-smoke): nothing to refuse")
    else:
        check.run(refusal, lambda: decode_gpu_refused(data, os.path.join(work, "refused")))
    check.run("torchrun world of 2 (gloo on the CPU)",
              lambda: torchrun_world(data, os.path.join(work, "dist"), "cpu", args.test_timeout))
    skipped_throughput(check, reason)
