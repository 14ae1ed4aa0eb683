"""The XLA path (torch_xla, PJRT): `--device xla` gives the record a CPU run gives, in one process and
under torchrun (one XLA device per process, metric states summed exactly with gloo).

Runs only where torch_xla is installed (it pins its own torch version, so it lives in a separate
environment: `make test-xla` builds `.venv-xla` and runs this file there, with ROBENCH_REQUIRE_XLA=1); elsewhere
it is skipped by ``pytest.importorskip``, which -ra reports.
"""
import os

import pytest

os.environ.setdefault("PJRT_DEVICE", "CPU")
if os.environ.get("ROBENCH_REQUIRE_XLA"):  # `make test-xla` sets it: there a missing torch_xla is a failure
    import torch_xla  # noqa: F401
else:
    pytest.importorskip("torch_xla")

from engine_support import ORACLE, comparable, in_process, load, run, write_folders  # noqa: E402

pytestmark = pytest.mark.xla


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return write_folders(str(tmp_path_factory.mktemp("xla") / "folders"), 7)


def args(root, out, *extra):
    return ["eval", "-m", ORACLE, "-r", root, "-o", out, "-j", "0", "-b", "3", "--no-progress", *extra]


@pytest.fixture(scope="module")
def cpu_record(root, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("cpu"))
    in_process(args(root, out, "--device", "cpu"))
    return load(os.path.join(out, "colour_oracle", "imagenet.json"))


def test_one_xla_process_equals_cpu(root, cpu_record, tmp_path):
    in_process(args(root, str(tmp_path), "--device", "xla"))
    record = load(os.path.join(tmp_path, "colour_oracle", "imagenet.json"))
    assert record["run"]["device"] == "xla"
    assert record["variants"] == cpu_record["variants"]
    assert record["variants"][0]["n_seen"] == 7 and record["variants"][0]["metrics"]["top1"] == 100.0


def test_two_xla_processes_equal_cpu(root, cpu_record, tmp_path):
    run(args(root, str(tmp_path), "--device", "xla"), nproc=2, PJRT_DEVICE="CPU")
    record = load(os.path.join(tmp_path, "colour_oracle", "imagenet.json"))
    assert record["run"]["world_size"] == 2
    assert comparable({**record, "run": {**record["run"], "device": "cpu"}}) == comparable(cpu_record)
