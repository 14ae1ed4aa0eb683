"""The accelerator check: everything robench promises on a GPU, in one go, with its numbers.

    bash benchmarks/device_check.sh [device_check.json]             # on a GPU machine: < 8 minutes
    bash benchmarks/device_check.sh --cpu-smoke /tmp/check.json     # the CPU-only form (CI), < 1 minute

On a machine with CUDA it runs, in order:

1. the tests marked ``cuda`` (``pytest -m cuda tests``: nvjpeg against the CPU decoder, a real
   ``--decode gpu`` evaluation, ``robench parity``);
2. ``robench eval`` of a random ResNet with fp32, bf16, fp16, channels-last, ``--compile`` and
   ``--decode gpu``;
3. a torchrun world of 2 processes (nccl with 2 GPUs; with one GPU, gloo on the CPU, because robench
   puts rank r on cuda:LOCAL_RANK with nccl and two ranks cannot share one GPU that way) and a check
   that its record equals the one-process record;
4. the throughput table: images/s of ResNet-50 (``resnet50@random``, timm, bf16, channels-last) on
   generated 224 px JPEGs in the ImageNet-C layout (used as released: no resize) and on ~500x375
   ImageNet-val-like JPEGs (resize + crop), CPU decode against GPU decode, 1 model and 4 models per
   pass, with the targets beside the numbers: ImageNet-C layout, 1 model, bf16 >= 6,250 images/s;
   val-like GPU decode >= 3x CPU decode. images/s counts images decoded per second in the steady
   state (from the first batch to the end: DataLoader start-up excluded; the end-to-end figure is
   beside it); model-images/s multiplies by the models of the pass.

Without CUDA (or with ``--cpu-smoke``) it runs its CPU-only form: the GPU rows are skipped, each with
its reason, a tiny CPU evaluation and a torchrun gloo world of 2 run, ``--decode gpu`` is checked to
fail with its one-line error, and it exits 0 unless something that should work failed. The table is
printed and written as JSON (default ``device_check.json``): ``mode``, ``machine``, ``checks`` (name,
status ok|failed|skipped, seconds, detail or reason), ``throughput`` (rows with images/s, target, met,
or status skipped and reason), ``targets``, ``ok``.
"""
import argparse
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORACLE = "robench.models.oracle:colour_oracle"
TARGET_C = 6250.0  # images/s, ResNet-50 bf16, ImageNet-C layout, 1 model
TARGET_GPU_OVER_CPU = 3.0  # val-like JPEGs: GPU decode over CPU decode
NO_CUDA = "no CUDA device (torch.cuda.is_available() is False)"
DEVICE = "cuda"  # where the throughput rows run (the tests of this script set "cpu")


class Check:
    """The checks and throughput rows of a run, printed and written as JSON."""

    def __init__(self, mode, budget):
        self.mode, self.budget, self.start = mode, budget, time.perf_counter()
        self.checks, self.throughput = [], []

    def elapsed(self):
        return time.perf_counter() - self.start

    def over_budget(self):
        return self.elapsed() > self.budget

    def skip(self, name, reason):
        self.checks.append({"name": name, "status": "skipped", "seconds": 0.0, "reason": reason})
        print(f"- {name}: skipped ({reason})", flush=True)

    def run(self, name, fn):
        """Runs ``fn()`` (returns a detail string) as the check ``name``; failures are recorded, not raised."""
        if self.over_budget():
            return self.skip(name, f"time budget of {self.budget:.0f} s spent")
        print(f"- {name} ...", flush=True)
        start = time.perf_counter()
        try:
            detail = fn()
            entry = {"name": name, "status": "ok", "seconds": round(time.perf_counter() - start, 1),
                     "detail": detail or ""}
        except Exception as e:  # noqa: BLE001 (a check that fails is a result)
            entry = {"name": name, "status": "failed", "seconds": round(time.perf_counter() - start, 1),
                     "detail": f"{type(e).__name__}: {str(e).strip()[-1500:]}"}
            traceback.print_exc()
        self.checks.append(entry)
        print(f"  {entry['status']} in {entry['seconds']} s: {entry['detail']}", flush=True)
        return entry

    @property
    def ok(self):
        return all(c["status"] != "failed" for c in self.checks) and all(
            r.get("status") != "failed" for r in self.throughput)


def machine():
    import torch

    info = {"torch": torch.__version__, "cuda": torch.version.cuda, "cuda_available": torch.cuda.is_available(),
            "gpus": torch.cuda.device_count() if torch.cuda.is_available() else 0, "cpus": os.cpu_count(),
            "python": sys.version.split()[0]}
    if info["gpus"]:
        info["gpu_name"] = torch.cuda.get_device_name(0)
    try:
        import torchvision

        info["torchvision"] = torchvision.__version__
    except ImportError:
        pass
    return info


def env(**extra):
    out = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    out["PYTHONPATH"] = os.pathsep.join([REPO, out.get("PYTHONPATH", "")])
    out.update({k: str(v) for k, v in extra.items()})
    return out


def robench_cli(args):
    """``robench ARGS`` in this process, its output kept; raises on failure: RobenchError for the one-line
    errors a user sees (exit 2), RuntimeError for any other exit code."""
    import click

    from robench.cli import cli
    from robench.errors import RobenchError

    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output):
            cli.main(args=list(args), prog_name="robench", standalone_mode=False)
    except click.ClickException as e:
        raise RobenchError(e.format_message()) from None
    except SystemExit as e:
        if e.code not in (0, None):
            raise RuntimeError(f"robench {' '.join(args)} exited with {e.code}: {output.getvalue()[-2000:]}") from None
    return output.getvalue()


def record(out, model_name, suite="imagenet"):
    with open(os.path.join(out, model_name, f"{suite}.json")) as f:
        return json.load(f)


# --- data ---------------------------------------------------------------------------------------------------

def _write_jpegs(job):
    """(folder, name, label, seed, width, height, quality) rows -> files (a process pool's task)."""
    import numpy as np

    from robench.datasets.synth import make_image

    for folder, name, label, seed, width, height, quality in job:
        os.makedirs(folder, exist_ok=True)
        make_image(label, np.random.default_rng([seed, label]), width, height).save(
            os.path.join(folder, name), "JPEG", quality=quality)


def write_jpegs(rows, processes):
    from multiprocessing import get_context

    chunks = [rows[i::processes] for i in range(processes)]
    with get_context("fork").Pool(processes) as pool:
        pool.map(_write_jpegs, [c for c in chunks if c])


def imagenet_c_layout(root, n, processes):
    """``root/gaussian_noise/3/<wnid>/*.JPEG``: ``n`` 224 px JPEGs (quality 85, as released), one cell."""
    from robench.datasets.base import write_generated_marker
    from robench.labels import imagenet_wnids

    marker = os.path.join(root, f".done-{n}")
    if os.path.exists(marker):
        return root
    shutil.rmtree(root, ignore_errors=True)
    wnids = imagenet_wnids()
    rows = [(os.path.join(root, "gaussian_noise", "3", wnids[i % 1000]), f"ILSVRC2012_val_{i:08d}.JPEG", i % 1000,
             i, 224, 224, 85) for i in range(n)]
    write_jpegs(rows, processes)
    write_generated_marker(root, generator="benchmarks/device_check.py", size=224)
    open(marker, "w").close()
    return root


def val_like(root, n, processes, size=(500, 375)):
    """``root/val/<wnid>/*.JPEG``: ``n`` JPEGs of ~500x375 (a third portrait), like ImageNet val's."""
    from robench.datasets.base import write_generated_marker
    from robench.labels import imagenet_wnids

    marker = os.path.join(root, f".done-{n}-{size[0]}x{size[1]}")
    if os.path.exists(marker):
        return root
    shutil.rmtree(root, ignore_errors=True)
    wnids, (w, h) = imagenet_wnids(), size
    rows = [(os.path.join(root, "val", wnids[i % 1000]), f"ILSVRC2012_val_{i:08d}.JPEG", i % 1000, i,
             *((w, h) if i % 3 else (h, w)), 90) for i in range(n)]
    write_jpegs(rows, processes)
    write_generated_marker(root, generator="benchmarks/device_check.py", size=max(size))
    open(marker, "w").close()
    return root


# --- checks -------------------------------------------------------------------------------------------------

def cuda_tests(timeout):
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "cuda", "-rs",
                           "-s", "tests"], cwd=REPO, env=env(), capture_output=True, text=True, timeout=timeout)
    tail = (done.stdout + done.stderr).strip().splitlines()
    summary = tail[-1] if tail else ""
    measured = [line.strip() for line in done.stdout.splitlines() if line.strip().startswith("nvjpeg vs CPU path")]
    if done.returncode != 0:
        raise RuntimeError(f"pytest -m cuda failed ({summary}):\n" + "\n".join(tail[-40:]))
    if " skipped" in summary and " passed" not in summary:
        raise RuntimeError(f"the cuda tests were all skipped although CUDA is available: {summary}")
    return "; ".join([summary] + measured)


def eval_row(data, out, model, extra, expect_images):
    name = "check"
    robench_cli(["eval", "-m", f"{name}={model}", "-r", data, "-o", out, "--no-progress", *extra])
    rec = record(out, name)
    seen = sum(v["n_seen"] for v in rec["variants"])
    if seen != expect_images:
        raise RuntimeError(f"the record saw {seen} images, not {expect_images}")
    top1 = rec["variants"][0]["metrics"]["top1"]
    return f"{seen} images, top-1 {top1:.2f}, run {rec['run']['device']}/{rec['run']['precision']}/" \
           f"decoder {rec['run']['decoder']}"


def decode_gpu_refused(data, out):
    """Without CUDA: --decode gpu is one line (a RobenchError) before any work."""
    from robench.errors import RobenchError

    try:
        robench_cli(["eval", "-m", ORACLE, "-r", data, "-o", out, "--decode", "gpu", "--no-progress"])
    except RobenchError as e:
        if "needs a CUDA device" not in str(e) or "\n" in str(e):
            raise RuntimeError(f"unexpected error: {e}") from None
        if os.path.exists(out):
            raise RuntimeError(f"{out} was written although --decode gpu was refused") from None
        return f"refused in one line: {e}"
    raise RuntimeError("--decode gpu without CUDA did not fail")


def torchrun_world(data, out, device, timeout, model=ORACLE, extra=()):
    """A torchrun world of 2 processes; its record must equal a one-process run's (counts and metrics)."""
    name = "check"
    args = ["eval", "-m", f"{name}={model}", "-r", data, "--device", device, "-j", "1", "-b", "8", "--no-progress", *extra]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "robench",
           *args, "-o", os.path.join(out, "world2")]
    done = subprocess.run(cmd, cwd=REPO, env=env(OMP_NUM_THREADS=1), capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"torchrun exited with {done.returncode}:\n{(done.stdout + done.stderr)[-3000:]}")
    robench_cli([*args, "-o", os.path.join(out, "world1")])
    two, one = record(os.path.join(out, "world2"), name), record(os.path.join(out, "world1"), name)
    if two["run"]["world_size"] != 2:
        raise RuntimeError(f"the torchrun record says world size {two['run']['world_size']}")
    strip = lambda r: [(v["name"], v["n_seen"], v["state"]) for v in r["variants"]]  # noqa: E731
    if strip(two) != strip(one):
        raise RuntimeError("the world-2 record's counts differ from the one-process record's")
    return f"world 2 on {device}, {sum(v['n_seen'] for v in two['variants'])} images, record equals the " \
           "one-process record"


# --- throughput ---------------------------------------------------------------------------------------------

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

    from robench.engine import EvalOptions, evaluate

    out = tempfile.mkdtemp(prefix="robench-device-check-")
    options = EvalOptions(batch_size=args.batch_size, workers=args.workers, device=DEVICE, precision="bf16",
                          channels_last=True, decode=decode, progress=False, progress_every=0)
    clock = SteadyClock()
    try:
        with clock.installed():
            start = time.perf_counter()
            paths = evaluate(models, suite, root, out, select=select, options=options)
            if DEVICE == "cuda":
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

    if DEVICE != "cuda":
        return
    x = torch.randn(args.batch_size, 3, 224, 224, device="cuda").contiguous(memory_format=torch.channels_last)
    for m in models:
        m.module.cuda().eval().to(memory_format=torch.channels_last)
        with torch.inference_mode(), torch.autocast("cuda", torch.bfloat16):
            for _ in range(3):
                m.module(x)
    torch.cuda.synchronize()
    import numpy as np

    from robench.datasets.synth import make_image

    buffer = io.BytesIO()
    make_image(1, np.random.default_rng(0), 500, 375).save(buffer, "JPEG")
    data = torch.frombuffer(bytearray(buffer.getvalue()), dtype=torch.uint8)
    BatchDecoder(((("input_size", (3, 224, 224)), ("interpolation", "bicubic"), ("crop_pct", 0.95),
                   ("crop_mode", "center"))), torch.device("cuda")).decode([data] * 8)
    torch.cuda.synchronize()


THROUGHPUT_ROWS = [(data, decode, n) for data in ("imagenet-c layout, 224 px", "val-like, ~500x375")
                   for n in (1, 4) for decode in ("cpu", "gpu")]


def skipped_throughput(check, reason):
    for data, decode, n in THROUGHPUT_ROWS:
        check.throughput.append({"data": data, "decoder": decode, "models": n, "precision": "bf16",
                                 "status": "skipped", "reason": reason, "target": _target_text(data, decode, n)})


def _target_text(data, decode, n):
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
               "batch_size": args.batch_size, "workers": args.workers, "target": _target_text(data, decode, n)}
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


# --- the run ------------------------------------------------------------------------------------------------

def gpu_form(check, args, work):
    import torch

    gpus = torch.cuda.device_count()
    check.run("cuda-marked tests (pytest -m cuda tests)", lambda: cuda_tests(args.test_timeout))
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
    from robench.datasets.synth import write_imagenet
    from robench.engine.gpu_decode import cuda_available

    check.skip("cuda-marked tests (pytest -m cuda tests)", reason)
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


def table(check):
    from tabulate import tabulate

    lines = [tabulate([[c["name"], c["status"], c["seconds"], c.get("detail") or c.get("reason", "")]
                       for c in check.checks], headers=["check", "status", "s", "detail / reason"],
                      maxcolwidths=[48, 8, 6, 90])]
    rows = []
    for r in check.throughput:
        if r.get("status") == "ok":
            met = {True: "met", False: "MISSED"}.get(r.get("met"), "")
            extra = f" ({r['gpu_over_cpu']}x CPU)" if r.get("gpu_over_cpu") is not None else ""
            rows.append([r["data"], r["decoder"], r["models"], r["images"], r["images_per_s"],
                         r["end_to_end_images_per_s"], r["model_images_per_s"], r["target"], met + extra])
        else:
            rows.append([r["data"], r["decoder"], r["models"], "", "", "", "", r["target"],
                         f"{r.get('status')}: {r.get('reason', '')}"])
    note = None
    if rows and all(r.get("status") == "skipped" for r in check.throughput):
        reasons = {r.get("reason") for r in check.throughput}
        rows = [r[:-1] + ["skipped"] for r in rows]
        note = ("throughput rows skipped: " + "; ".join(sorted(reasons)) +
                " (the targets are GPU targets: ResNet-50 bf16, nvjpeg)")
    lines.append(tabulate(rows, headers=["data (ResNet-50, bf16)", "decode", "models", "images", "images/s",
                                         "end-to-end", "model-images/s", "target", "result"],
                          maxcolwidths=[26, 6, 6, 7, 9, 10, 14, 24, 60]))
    if note:
        lines[-1] += "\n" + note
    return "\n\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("json", nargs="?", default="device_check.json", help="where the table goes as JSON")
    parser.add_argument("--cpu-smoke", action="store_true", help="the CPU-only form, even where CUDA is available")
    parser.add_argument("--images-c", type=int, default=20000, help="ImageNet-C-layout JPEGs (224 px) to time")
    parser.add_argument("--images-val", type=int, default=5000, help="val-like JPEGs (~500x375) to time")
    parser.add_argument("--eval-images", type=int, default=512, help="images of the eval matrix (GPU form)")
    parser.add_argument("--eval-model", default="resnet18@random", help="model of the eval matrix (GPU form)")
    parser.add_argument("--batch-size", type=int, default=256, help="throughput batch size")
    parser.add_argument("--throughput-model", default="resnet50@random", help="the throughput table's model")
    parser.add_argument("--workers", type=int, default=max(1, min(14, (os.cpu_count() or 2) - 2)))
    parser.add_argument("--budget", type=float, default=450.0, help="seconds; later steps are skipped past it")
    parser.add_argument("--test-timeout", type=float, default=240.0, help="seconds for each child process")
    parser.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "robench-device-check-data"))
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ROBENCH_PROGRESS", "none")
    sys.path.insert(0, REPO)
    import torch

    cuda = torch.cuda.is_available()
    mode = "gpu" if cuda and not args.cpu_smoke else "cpu-smoke"
    reason = NO_CUDA if not cuda else "--cpu-smoke: the CPU-only form was asked for"
    check = Check(mode, args.budget)
    info = machine()
    print(f"robench device check ({mode}): {json.dumps(info)}", flush=True)
    work = tempfile.mkdtemp(prefix="robench-device-check-")
    try:
        if mode == "gpu":
            gpu_form(check, args, work)
        else:
            cpu_form(check, args, work, reason)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = table(check)
    print("\n" + text)
    result = {"mode": mode, "machine": info, "seconds": round(check.elapsed(), 1), "ok": check.ok,
              "targets": {"imagenet_c_layout_resnet50_bf16_images_per_s": TARGET_C,
                          "val_like_gpu_over_cpu_decode": TARGET_GPU_OVER_CPU},
              "checks": check.checks, "throughput": check.throughput, "table": text}
    folder = os.path.dirname(os.path.abspath(args.json))
    os.makedirs(folder, exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(result, f, indent=1)
    print(f"\n{'ok' if check.ok else 'FAILED'} in {check.elapsed():.1f} s; wrote {args.json}")
    return 0 if check.ok else 1


if __name__ == "__main__":
    sys.exit(main())
