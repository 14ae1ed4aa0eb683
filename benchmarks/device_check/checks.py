"""What each check runs: the cuda-marked tests, one evaluation, the refusal of --decode gpu
without CUDA, a torchrun world of 2. Each returns its detail line or raises."""
import os
import subprocess
import sys

from .runs import ORACLE, REPO, env, record, robench_cli


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
