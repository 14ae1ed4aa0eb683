"""Shared by the engine tests: tiny data sets in real layouts, real `robench` processes, and
models for tests (a colour oracle that is slow on purpose and logs what it evaluates)."""
import contextlib
import json
import re
import os
import signal
import subprocess
import sys
import threading
import time

import torch

from robench.models.oracle import ColourOracle

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORACLE = "robench.models.oracle:colour_oracle"
SLOW_ORACLE = "engine_support:slow_oracle"


@contextlib.contextmanager
def torch_threads(n):
    """torch's intra-op thread count set to ``n`` for a while (tests that need a given count)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def write_folders(root, n_images, seed=3, size=32):
    """``root/val/<wnid>/*.JPEG``: ``n_images`` classes, one real JPEG each; returns ``root``."""
    from robench.datasets.colour_code import choose_classes, write_class_folders

    write_class_folders(os.path.join(root, "val"), choose_classes(n_images, seed), 1, seed=seed, size=size)
    return root


def write_shards(suite_name, folders, out, shard_size, select=None):
    """The suite's folders under ``folders`` packed as tar shards of ``shard_size`` at ``out``."""
    from robench.datasets import get_suite
    from robench.datasets.shard_writer import write_shard_set

    write_shard_set(get_suite(suite_name), folders, out, shard_size=shard_size, select=select)
    return out


def env(**extra):
    """Environment of a child robench process: offline, one thread, tests/ importable."""
    out = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    out["PYTHONPATH"] = os.pathsep.join([os.path.join(REPO, "tests"), REPO, out.get("PYTHONPATH", "")])
    out.update({k: str(v) for k, v in extra.items()})
    return out


def robench_cmd(args, nproc=None):
    """argv of ``robench ARGS``, under ``torchrun --nproc_per_node=NPROC`` when given."""
    if nproc is None:
        return [sys.executable, "-m", "robench", *args]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
            "-m", "robench", *args]


def run(args, nproc=None, timeout=240, **extra_env):
    done = subprocess.run(robench_cmd(args, nproc), env=env(**extra_env), capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)
    assert done.returncode == 0, f"robench {' '.join(args)} failed:\n{done.stdout}\n{done.stderr[-4000:]}"
    return done


def kill_when(proc, condition, timeout=120):
    """SIGKILLs ``proc`` as soon as ``condition()`` holds; True if it was killed so, False if it ended on
    its own or the timeout passed first (then it is killed too, so no test leaves it running)."""
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if condition():
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    return False


def in_process(args):
    """``robench ARGS`` in this process (click's runner); returns the result, asserting success."""
    from click.testing import CliRunner

    from robench.cli import cli

    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def load(path):
    with open(path) as f:
        return json.load(f)


def markdown_rows(markdown, footnotes=True, intervals=True):
    """Every row of every markdown pipe table as {header: cell}; ``footnotes=False`` drops the
    ``[^id]`` footnote marks from the headers, ``intervals=False`` the leaderboard's `` ± half-width``
    and tie mark ``≈`` from the cells (the value alone)."""
    rows, headers = [], None
    for line in markdown.splitlines():
        if not line.startswith("|"):
            headers = None
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if headers is None:
            headers = cells if footnotes else [c.split(" [^")[0] for c in cells]
        elif not set(line) <= set("|:- "):
            cells = [_shown(c) for c in cells]
            if not intervals:
                cells = [re.sub(r" ± \d+(\.\d+)?( ≈)?$", "", c) for c in cells]
            rows.append(dict(zip(headers, cells)))
    return rows


def _shown(cell):
    """A cell's text as a reader sees it: markdown's backslash escapes (robench escapes record text) removed."""
    return re.sub(r"\\([\\`*\[\]|])", r"\1", cell)


def measured_sections(markdown):
    """{model label of a measured row: title of the leaderboard section it stands in}."""
    sections = {}
    for part in markdown.split("\n## ")[1:]:
        title, _, body = part.partition("\n")
        for line in body.splitlines():
            if line.startswith("| ") and "measured by robench" in line:
                sections[_shown(line.split("|")[1].strip())] = title
    return sections


def comparable(record, folder=None):
    """A record without what legitimately differs between equivalent runs: time, world size, data
    root and (given ``folder``, the --out folder) the folder named in aggregate notes."""
    out = {k: v for k, v in record.items() if k != "created"}
    out["run"] = {k: v for k, v in record["run"].items() if k not in ("world_size", "config")}
    out["suite"] = {k: v for k, v in record["suite"].items() if k != "root"}
    if folder is not None:
        out = json.loads(json.dumps(out).replace(os.fspath(folder).rstrip("/"), "<OUT>"))
    return out


class SlowOracle(ColourOracle):
    """The colour oracle, ``SLOW_ORACLE_DELAY`` seconds slower per batch, logging each batch size to
    ``SLOW_ORACLE_LOG``: lets a test kill a run in mid-flight and count what a rerun recomputes."""

    def forward(self, x):
        time.sleep(float(os.environ.get("SLOW_ORACLE_DELAY", "0")))
        log = os.environ.get("SLOW_ORACLE_LOG")
        if log:
            with open(log, "a") as f:
                f.write(f"{x.shape[0]}\n")
        return super().forward(x)


def slow_oracle():
    return SlowOracle()


def logged_images(path):
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        return sum(int(line) for line in f if line.strip())


C_CORRUPTIONS = ["gaussian_noise", "brightness"]
C_SELECT = ",".join(C_CORRUPTIONS)


def write_imagenet_c(root, n_classes=3, size=32):
    """Generated ImageNet-C folders: 2 corruptions x 5 severities = 10 variants of ``n_classes`` JPEGs."""
    from robench.datasets.imagenet_c import write_imagenet_c as write

    write(root, n_classes=n_classes, per_class=1, size=size, corruptions=C_CORRUPTIONS)
    return root


class VandalOracle(ColourOracle):
    """The colour oracle, but it overwrites its input tensor after reading it (some user code does)."""

    def forward(self, x):
        out = super().forward(x)
        x.mul_(0.0).add_(3.0)
        return out


def vandal_oracle():
    return VandalOracle()


class ConcurrencyProbe(ColourOracle):
    """The colour oracle, logging how many forward passes run at once and with how many intra-op
    threads. Its second and third calls wait for each other at a barrier: they only get through
    if two forward passes really run side by side (else the barrier times out and the run fails)."""

    barrier = None
    lock = threading.Lock()
    calls = active = most_active = 0
    intra_threads = set()
    thread_names = set()

    @classmethod
    def reset(cls):
        cls.barrier = threading.Barrier(2, timeout=60)
        cls.calls = cls.active = cls.most_active = 0
        cls.intra_threads, cls.thread_names = set(), set()

    def forward(self, x):
        cls = type(self)
        with cls.lock:
            cls.calls += 1
            call = cls.calls
            cls.active += 1
            cls.most_active = max(cls.most_active, cls.active)
            cls.intra_threads.add(torch.get_num_threads())
            cls.thread_names.add(threading.current_thread().name)
        try:
            if call in (2, 3):
                cls.barrier.wait()
            return super().forward(x)
        finally:
            with cls.lock:
                cls.active -= 1


def concurrency_probe():
    return ConcurrencyProbe()
