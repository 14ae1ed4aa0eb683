"""benchmarks/device_check.sh: its CPU-only form runs anywhere (CI runs it), skips every GPU row with
its reason, and writes the table as JSON under the folder it is given (never the working directory);
the throughput table's logic runs here on the CPU too."""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "benchmarks"))

from device_check import cli, recorder, table, throughput  # noqa: E402

THROUGHPUT_KEYS = {"data", "decoder", "models", "precision", "status", "target"}


@pytest.mark.multiprocess
def test_the_cpu_only_form_runs_skips_gpu_rows_with_reasons_and_writes_json(tmp_path):
    folder, cwd = tmp_path / "check", tmp_path / "cwd"
    cwd.mkdir()
    done = subprocess.run(["bash", os.path.join(REPO, "benchmarks", "device_check.sh"), "--cpu-smoke", str(folder)],
                          capture_output=True, text=True, timeout=240, cwd=cwd,
                          env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = folder / "device_check.json"
    assert os.listdir(folder) == ["device_check.json"] and os.listdir(cwd) == []
    assert done.stdout.rstrip().endswith(f"; wrote {out}")
    result = json.loads(out.read_text())
    assert result["mode"] == "cpu-smoke" and result["ok"] is True
    assert set(result) >= {"mode", "machine", "seconds", "ok", "targets", "checks", "throughput", "table"}
    assert result["targets"] == {"imagenet_c_layout_resnet50_bf16_images_per_s": 6250.0,
                                 "val_like_gpu_over_cpu_decode": 3.0}
    checks = {c["name"]: c for c in result["checks"]}
    assert all(set(c) >= {"name", "status", "seconds"} for c in result["checks"])
    assert all(c["status"] in ("ok", "skipped") for c in result["checks"]), checks
    cuda_tests = checks["cuda-marked tests (pytest -m cuda tests)"]
    assert cuda_tests["status"] == "skipped" and cuda_tests["reason"]
    assert checks["eval colour oracle on cpu, fp32 (tiny)"]["status"] == "ok"
    refusal = checks["--decode gpu without CUDA: one-line error before any work"]
    if result["machine"]["cuda_available"]:
        assert refusal["status"] == "skipped"
    else:
        assert refusal["status"] == "ok" and "--decode gpu needs a CUDA device" in refusal["detail"]
    world = checks["torchrun world of 2 (gloo on the CPU)"]
    assert world["status"] == "ok" and "equals the one-process record" in world["detail"]
    skipped = [c for c in result["checks"] if c["status"] == "skipped"]
    assert len(skipped) >= 5 and all(c["reason"] for c in skipped)
    rows = result["throughput"]
    assert len(rows) == 8 and all(set(r) >= THROUGHPUT_KEYS | {"reason"} for r in rows)
    assert all(r["status"] == "skipped" and r["reason"] for r in rows)
    assert {(r["data"], r["decoder"], r["models"]) for r in rows} == set(throughput.THROUGHPUT_ROWS)
    assert sum(bool(r["target"]) for r in rows) == 4
    assert "images/s" in done.stdout and "throughput rows skipped" in done.stdout and "skipped" in result["table"]
    if not result["machine"]["cuda_available"]:
        assert "no CUDA device" in cuda_tests["reason"] and all("no CUDA device" in r["reason"] for r in rows)
    assert result["seconds"] < 120


def test_the_throughput_table_measures_and_judges_on_the_cpu(tmp_path, monkeypatch):
    """The GPU form's throughput code, with the CPU standing in for the GPU and a tiny model."""
    from robench.engine import gpu_decode

    monkeypatch.setattr(gpu_decode, "cuda_available", lambda: True)
    monkeypatch.setattr(gpu_decode, "decode_device", lambda device: device)
    args = argparse.Namespace(images_c=12, images_val=12, batch_size=4, workers=0, device="cpu",
                              throughput_model="test_robust_resnet@random", data=str(tmp_path / "data"))
    check = recorder.Check("gpu", 300)
    throughput.throughput(check, args)
    rows = check.throughput
    assert [(r["data"], r["decoder"], r["models"]) for r in rows] == throughput.THROUGHPUT_ROWS
    for r in rows:
        assert r["status"] == "ok", r
        assert r["images"] == 12 and r["images_per_s"] > 0 and r["model_images_per_s"] == pytest.approx(
            r["images_per_s"] * r["models"], rel=1e-3)
    judged = [r for r in rows if r["target"]]
    assert len(judged) == 4 and all(isinstance(r["met"], bool) for r in judged)
    assert all(r["gpu_over_cpu"] > 0 for r in judged if r["data"].startswith("val"))
    text = table.table(check)
    assert "6,250" in text and "x CPU" in text


def test_out_is_a_folder_and_its_default_is_not_the_working_directory(tmp_path, capsys):
    assert cli.parser().parse_args([]).out == os.path.join(tempfile.gettempdir(), "robench-device-check")
    with pytest.raises(SystemExit) as exited:
        cli.main(["--cpu-smoke", str(tmp_path / "device_check.json")])
    assert exited.value.code == 2 and not (tmp_path / "device_check.json").exists()
    assert (f"error: OUT is a folder (device_check.json is written under it), not a file: "
            f"{tmp_path / 'device_check.json'}") in capsys.readouterr().err
