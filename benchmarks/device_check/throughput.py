"""The throughput table: images/s of a model on generated JPEGs, CPU against GPU decode, 1 and 4
models a pass, each row judged against its target. ``args.device`` is where the rows run ("cuda";
the tests set "cpu" to run this code without a GPU)."""
import contextlib
import io
import os
import shutil
import tempfile
import time
import traceback

from .data import imagenet_c_layout, val_like

TARGET_C = 6250.0  # images/s, ResNet-50 bf16, ImageNet-C layout, 1 model
TARGET_GPU_OVER_CPU = 3.0  # val-like JPEGs: GPU decode over CPU decode
TARGETS = {"imagenet_c_layout_resnet50_bf16_images_per_s": TARGET_C,
           "val_like_gpu_over_cpu_decode": TARGET_GPU_OVER_CPU}
THROUGHPUT_ROWS = [(data, decode, n) for data in ("imagenet-c layout, 224 px", "val-like, ~500x375")
                   for n in (1, 4) for decode in ("cpu", "gpu")]


class SteadyClock:
    """Notes when the evaluation loop gets its first batch and how many samples it accounts for
    (wraps the loader that group.py makes), so that images/s can leave the DataLoader start-up out."""

    def __init__(self):
        self.first, self.first_size, self.samples = None, 0, 0

    @contextlib.contextmanager
    def installed(self):
        from robench.engine import group

        original = group.make_loader

        def make_loader(*args, **kwargs):
            for batch in original(*args, **kwargs):
                if self.first is None:
                    self.first, self.first_size = time.perf_counter(), batch.size
                self.samples += batch.size
                yield batch

        group.make_loader = make_loader
        try:
            yield self
        finally:
            group.make_loader = original


def timed_eval(models, suite, root, select, decode, args):
    import torch

    from robench.engine import EvalOptions, evaluate_suite

    out = tempfile.mkdtemp(prefix="robench-device-check-")
    options = EvalOptions(batch_size=args.batch_size, workers=args.workers, device=args.device, precision="bf16",
                          channels_last=True, decode=decode, progress=False, progress_every=0)
    clock = SteadyClock()
    try:
        with clock.installed():
            start = time.perf_counter()
            paths = evaluate_suite(models, suite, root, out, select=select, options=options)
            if args.device == "cuda":
                torch.cuda.synchronize()
            end = time.perf_counter()
        if len(paths) != len(models):
            failed = [m.failure for m in models if m.failure]
            raise RuntimeError(f"models failed: {failed}")
    finally:
        shutil.rmtree(out, ignore_errors=True)
    steady = (clock.samples - clock.first_size) / max(end - clock.first, 1e-9) if clock.first else None
    return {"images": clock.samples, "images_per_s": round(steady, 1) if steady else None,
            "end_to_end_images_per_s": round(clock.samples / (end - start), 1), "seconds": round(end - start, 2)}


def warm_up(models, args):
    """CUDA context, cuDNN and autocast kernels, nvjpeg: loaded before anything is timed."""
    import torch

    from robench.engine.gpu_decode import BatchDecoder

    if args.device != "cuda":
        return
    x = torch.randn(args.batch_size, 3, 224, 224, device="cuda").contiguous(memory_format=torch.channels_last)
    for m in models:
        m.module.cuda().eval().to(memory_format=torch.channels_last)
        with torch.inference_mode(), torch.autocast("cuda", torch.bfloat16):
            for _ in range(3):
                m.module(x)
    torch.cuda.synchronize()
    import numpy as np

    from robench.datasets.colour_code import make_image

    buffer = io.BytesIO()
    make_image(1, np.random.default_rng(0), 500, 375).save(buffer, "JPEG")
    data = torch.frombuffer(bytearray(buffer.getvalue()), dtype=torch.uint8)
    BatchDecoder(((("input_size", (3, 224, 224)), ("interpolation", "bicubic"), ("crop_pct", 0.95),
                   ("crop_mode", "center"))), torch.device("cuda")).decode([data] * 8)
    torch.cuda.synchronize()


def skipped_throughput(check, reason):
    for data, decode, n in THROUGHPUT_ROWS:
        check.throughput.append({"data": data, "decoder": decode, "models": n, "precision": "bf16",
                                 "status": "skipped", "reason": reason, "target": target_text(data, decode, n)})


def target_text(data, decode, n):
    if data.startswith("imagenet-c") and n == 1:
        return f">= {TARGET_C:,.0f} images/s"
    if data.startswith("val") and decode == "gpu":
        return f">= {TARGET_GPU_OVER_CPU:g}x CPU decode"
    return ""


def throughput(check, args):
    from robench.models import load_model

    processes = max(1, min(16, os.cpu_count() or 1))
    start = time.perf_counter()
    c_root = imagenet_c_layout(os.path.join(args.data, "imagenet-c-layout"), args.images_c, processes)
    v_root = val_like(os.path.join(args.data, "val-like"), args.images_val, processes)
    print(f"  data: {args.images_c} + {args.images_val} JPEGs ready in {time.perf_counter() - start:.1f} s", flush=True)
    models = [load_model(f"m{i}={args.throughput_model}") for i in range(4)]
    warm_up(models, args)
    sets = {"imagenet-c layout, 224 px": ("imagenet-c", c_root, ["gaussian_noise/3"]),
            "val-like, ~500x375": ("imagenet", v_root, None)}
    for data, decode, n in THROUGHPUT_ROWS:
        row = {"data": data, "decoder": decode, "models": n, "precision": "bf16", "channels_last": True,
               "batch_size": args.batch_size, "workers": args.workers, "target": target_text(data, decode, n)}
        if check.over_budget():
            row.update(status="skipped", reason=f"time budget of {check.budget:.0f} s spent")
        else:
            suite, root, select = sets[data]
            try:
                row.update(timed_eval(models[:n], suite, root, select, decode, args), status="ok")
                row["model_images_per_s"] = round(row["images_per_s"] * n, 1) if row["images_per_s"] else None
            except Exception as e:  # noqa: BLE001
                traceback.print_exc()
                row.update(status="failed", reason=f"{type(e).__name__}: {e}")
        check.throughput.append(row)
        print(f"  {data}, {decode} decode, {n} model(s): {row.get('images_per_s', row.get('reason'))}", flush=True)
    judge(check.throughput)


def judge(rows):
    """Fills ``met`` of the rows that carry a target."""
    rate = {(r["data"], r["decoder"], r["models"]): r.get("images_per_s") for r in rows if r.get("status") == "ok"}
    for r in rows:
        if r.get("status") != "ok" or not r["target"]:
            continue
        if r["data"].startswith("imagenet-c"):
            r["met"] = r["images_per_s"] is not None and r["images_per_s"] >= TARGET_C
        else:
            cpu = rate.get((r["data"], "cpu", r["models"]))
            r["gpu_over_cpu"] = round(r["images_per_s"] / cpu, 2) if cpu and r["images_per_s"] else None
            r["met"] = r["gpu_over_cpu"] is not None and r["gpu_over_cpu"] >= TARGET_GPU_OVER_CPU
