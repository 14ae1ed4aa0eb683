"""The command line: ``device_check.sh [--cpu-smoke] [OUT] [options]``; picks the form, runs it,
prints the table and writes OUT/device_check.json."""
import argparse
import json
import os
import shutil
import sys
import tempfile

from . import __doc__ as DOC
from . import report
from .forms import NO_CUDA, cpu_form, gpu_form
from .recorder import Check
from .runs import REPO, machine
from .table import table

DEFAULT_OUT = os.path.join(tempfile.gettempdir(), "robench-device-check")


def parser():
    p = argparse.ArgumentParser(prog="device_check.sh", description=DOC.split("\n")[0])
    p.add_argument("out", nargs="?", default=DEFAULT_OUT,
                   help=f"folder for {report.FILENAME} (default: {DEFAULT_OUT})")
    p.add_argument("--cpu-smoke", action="store_true", help="the CPU-only form, even where CUDA is available")
    p.add_argument("--images-c", type=int, default=20000, help="ImageNet-C-layout JPEGs (224 px) to time")
    p.add_argument("--images-val", type=int, default=5000, help="val-like JPEGs (~500x375) to time")
    p.add_argument("--eval-images", type=int, default=512, help="images of the eval matrix (GPU form)")
    p.add_argument("--eval-model", default="resnet18@random", help="model of the eval matrix (GPU form)")
    p.add_argument("--batch-size", type=int, default=256, help="throughput batch size")
    p.add_argument("--throughput-model", default="resnet50@random", help="the throughput table's model")
    p.add_argument("--workers", type=int, default=max(1, min(14, (os.cpu_count() or 2) - 2)))
    p.add_argument("--budget", type=float, default=450.0, help="seconds; later steps are skipped past it")
    p.add_argument("--test-timeout", type=float, default=240.0, help="seconds for each child process")
    p.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "robench-device-check-data"))
    p.set_defaults(device="cuda")  # where the throughput rows run
    return p


def main(argv=None):
    p = parser()
    args = p.parse_args(argv)
    if args.out.endswith(".json"):
        p.error(f"OUT is a folder ({report.FILENAME} is written under it), not a file: {args.out}")
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
    path = report.write(args.out, report.result(check, info, text))
    print(f"\n{'ok' if check.ok else 'FAILED'} in {check.elapsed():.1f} s; wrote {path}")
    return 0 if check.ok else 1
