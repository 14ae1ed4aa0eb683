"""--decode gpu: workers ship JPEG bytes, the main process decodes (nvjpeg on CUDA) and resizes there.

On the CPU, the GPU path's code runs with ``device="cpu"`` (torchvision's ``decode_jpeg`` with
libjpeg-turbo instead of nvjpeg): batching, fallbacks, RGB conversion, the stored-size check and the
resize/crop geometry are the same code. Measured against the CPU path (PIL decode + timm's transform)
on generated val-sized JPEGs: bilinear/bicubic with antialias differ by at most 2 levels (mean < 0.06),
PNG and CMYK files (decoded through PIL like the CPU path) are equal. Tests marked ``cuda`` compare
nvjpeg itself and run a real GPU-decoding evaluation; they are skipped without a CUDA device.
"""
import io
import json
import os

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from engine_support import ORACLE, load, measured_sections
from robench.datasets import get_suite
from robench.datasets.colour_code import make_image
from robench.datasets.imagenet import write_imagenet
from robench.datasets.imagenet_c import write_imagenet_c
from robench.engine import EvalOptions, evaluate_suite, gpu_decode
from robench.engine.data import decode_image, make_loader
from robench.engine.gpu_decode import BatchDecoder, EncodedBatch, collate_encoded, encoded_item, jpeg_header
from robench.errors import RobenchError
from robench.labels import imagenet_wnids
from robench.models.preprocess import build_transform

# measured on CPU (libjpeg-turbo through decode_jpeg vs PIL, torch vs PIL resampling, antialias=True), over
# 16-24 val-sized JPEGs of 4 sizes, in uint8 levels: bicubic max 2 / mean 0.004, bilinear max 1 / mean 0.002,
# squash (aspect not kept) max 1 / mean 0.058; the decoded pixels themselves are equal (same libjpeg-turbo)
MAX_LEVELS, MEAN_LEVELS = 2, 0.1
# nvjpeg's IDCT and chroma upsampling add to that (the cuda test's bound; its output prints what it measured)
CUDA_MAX_LEVELS, CUDA_MEAN_LEVELS = 48, 1.5


def key(size=224, interpolation="bicubic", crop_pct=0.875, crop_mode="center"):
    return (("input_size", (3, size, size)), ("interpolation", interpolation), ("crop_pct", crop_pct),
            ("crop_mode", crop_mode))


def jpeg(label, width, height, seed=0, mode="RGB", **save):
    image = make_image(label, np.random.default_rng([seed, label]), width, height)
    if mode != "RGB":
        image = image.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, **save)
    return buffer.getvalue()


def png(label, size, seed=0):
    buffer = io.BytesIO()
    make_image(label, np.random.default_rng([seed, label]), size, size).save(buffer, "PNG")
    return buffer.getvalue()


SIZES = [(500, 375), (375, 500), (333, 500), (640, 480)]


def val_files(n=16):
    return [jpeg(i * 37 % 1000, *SIZES[i % len(SIZES)], seed=i) for i in range(n)]


def cpu_path(files, k):
    transform = build_transform(k)
    return torch.stack([torch.as_tensor(transform(decode_image(f))) for f in files])


def gpu_path(files, k, device="cpu", expect=None, decoder=None):
    transform = build_transform(k)
    items = [encoded_item(i, f"k{i}", i, f, transform, expect) for i, f in enumerate(files)]
    decoder = decoder or BatchDecoder(k, device, expect)
    return decoder(collate_encoded(items)), decoder


def test_jpeg_header_gives_size_and_components_without_decoding():
    assert jpeg_header(jpeg(1, 500, 375)) == (375, 500, 3, 0xC0)
    assert jpeg_header(jpeg(1, 40, 30, mode="L")) == (30, 40, 1, 0xC0)
    assert jpeg_header(jpeg(1, 40, 30, mode="CMYK"))[2] == 4
    assert jpeg_header(jpeg(1, 40, 30, progressive=True))[3] == 0xC2
    assert jpeg_header(png(1, 32)) is None and jpeg_header(b"") is None and jpeg_header(b"\xff\xd8\xff") is None


def test_workers_ship_jpeg_bytes_and_decode_only_what_nvjpeg_cannot(tmp_path):
    """Encoded batches hold each JPEG's bytes unchanged (nothing decoded or resized in the worker);
    PNG and CMYK files are decoded in the worker exactly as the CPU path does."""
    k = key(64, "bilinear", 1.0)
    files = [jpeg(3, 80, 60), png(4, 70), jpeg(5, 50, 90, mode="CMYK"), jpeg(6, 64, 64, mode="L")]
    transform = build_transform(k)
    batch = collate_encoded([encoded_item(i, f"k{i}", 10 + i, f, transform, None) for i, f in enumerate(files)]
                            + [(9, "bad", 0, None, "cannot read it")])
    assert isinstance(batch, EncodedBatch) and batch.size == 5 and batch.bad == [(9, "bad", "cannot read it")]
    assert [p for p, _, _ in batch.spans] == [0, 3] and batch.pixel_positions == [1, 2]
    assert [batch.data[a:b].numpy().tobytes() for _, a, b in batch.spans] == [files[0], files[3]]
    assert torch.equal(batch.pixels, cpu_path(files[1:3], k))
    assert batch.labels.tolist() == [10, 11, 12, 13] and batch.indices == [0, 1, 2, 3]


@pytest.mark.parametrize("workers", [0, 2])
def test_the_encoded_loader_batches_a_variant_in_order(tmp_path, workers):
    write_imagenet(str(tmp_path), n_classes=5, per_class=3, size=48, seed=1)
    variant = get_suite("imagenet").variants(str(tmp_path))[0]
    k = key(32, "bilinear", 0.875)
    ranges = [[0, len(variant)]]
    plain = list(make_loader(variant.source, ranges, build_transform(k), 4, workers))
    encoded = list(make_loader(variant.source, ranges, build_transform(k), 4, workers, encoded=True))
    assert all(isinstance(b, EncodedBatch) for b in encoded)
    assert [b.indices for b in encoded] == [b.indices for b in plain]
    assert [b.keys for b in encoded] == [b.keys for b in plain]
    decoder = BatchDecoder(k, "cpu")
    for p, e in zip(plain, encoded):
        d = decoder(e)
        assert torch.equal(d.labels, p.labels) and d.images.shape == p.images.shape
        assert (d.images.int() - p.images.int()).abs().max() <= MAX_LEVELS
    assert decoder.on_device == len(variant) and decoder.fallbacks == 0


@pytest.mark.parametrize("k", [key(224, "bicubic", 0.875), key(224, "bilinear", 0.875), key(224, "bicubic", 0.95),
                               key(96, "bilinear", 1.0), key(224, "bicubic", 0.9, "squash"),
                               key(160, "bilinear", 0.875, "border")],
                         ids=["bicubic", "bilinear", "crop95", "96px", "squash", "border"])
def test_resize_and_crop_match_the_cpu_path(k):
    files = val_files()
    want = cpu_path(files, k)
    got, _ = gpu_path(files, k)
    assert got.images.shape == want.shape and got.images.dtype == torch.uint8
    diff = (got.images.int() - want.int()).abs()
    assert diff.max() <= MAX_LEVELS and diff.float().mean() <= MEAN_LEVELS, (diff.max(), diff.float().mean())
    assert got.keys == [f"k{i}" for i in range(len(files))] and got.labels.tolist() == list(range(len(files)))


def test_nearest_interpolation_matches_pils_nearest():
    """torch's 'nearest' is half a pixel off PIL's; the GPU path uses nearest-exact, which is PIL's."""
    files = val_files(8)
    diff = (gpu_path(files, key(224, "nearest"))[0].images.int() - cpu_path(files, key(224, "nearest")).int()).abs()
    assert diff.float().mean() <= MEAN_LEVELS and (diff > MAX_LEVELS).float().mean() < 0.005


def test_png_cmyk_and_rejected_files_fall_back_to_the_cpu_decoder_exactly():
    k = key(64, "bicubic", 0.875)
    files = [jpeg(1, 90, 70), png(2, 80), jpeg(3, 70, 90, mode="CMYK"), jpeg(4, 100, 75), jpeg(5, 75, 75)]

    class Rejecting(BatchDecoder):  # decode_jpeg refuses the 4th file (as nvjpeg refuses what it cannot do)
        def decode(self, files):
            out = super().decode(files)
            out[1] = RuntimeError("nvjpeg: unsupported")
            return out

    got, decoder = gpu_path(files, k, decoder=Rejecting(k, "cpu"))
    want = cpu_path(files, k)
    assert got.indices == [0, 1, 2, 3, 4] and decoder.fallbacks == 1 and decoder.on_device == 2
    for i in (1, 2, 3):  # PNG, CMYK (in the worker), rejected JPEG (in the main process): PIL, bit for bit
        assert torch.equal(got.images[i], want[i]), i
    assert (got.images.int() - want.int()).abs().max() <= MAX_LEVELS


def test_grayscale_jpegs_become_rgb_like_the_cpu_path():
    k = key(64, "bilinear", 0.875)
    files = [jpeg(7, 90, 70, mode="L"), jpeg(8, 80, 80)]
    got, decoder = gpu_path(files, k)
    assert decoder.on_device == 2 and got.images.shape == (2, 3, 64, 64)
    gray = got.images[0]
    assert torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])
    assert (got.images.int() - cpu_path(files, k).int()).abs().max() <= MAX_LEVELS


def test_undecodable_files_are_bad_items_naming_the_reason():
    k = key(32, "bilinear", 1.0)
    broken = jpeg(1, 40, 40)[:200] + b"\x00" * 50  # a valid header, then garbage
    got, decoder = gpu_path([jpeg(2, 40, 40), broken, b"not an image at all"], k)
    assert got.indices == [0] and got.images.shape == (1, 3, 32, 32)
    assert [b[0] for b in got.bad] == [2, 1] and all(b[2] for b in got.bad)
    assert decoder.fallbacks == 1  # the garbage JPEG went back to PIL, which failed too


def test_images_used_as_released_keep_the_stored_size_check():
    k = key(32, "bilinear", 1.0)
    files = [jpeg(1, 32, 32), jpeg(2, 40, 32), png(3, 32), png(4, 36)]
    got, _ = gpu_path(files, k, expect=32)
    assert got.indices == [0, 2]
    reasons = {b[0]: b[2] for b in got.bad}
    assert reasons[1].startswith("image is 40x32, not the 32x32 of images used as released")
    assert reasons[3].startswith("image is 36x36, not the 32x32")
    # a 32 px image used as released goes through untouched, on either path
    assert torch.equal(got.images[1], cpu_path([files[2]], k)[0])
    assert (got.images[0].int() - cpu_path([files[0]], k)[0].int()).abs().max() <= 1


# --- the engine, the record, the protocol, the command line ----------------------------------------------

@pytest.fixture
def decode_on_cpu(monkeypatch):
    """The GPU path with the CPU standing in for the CUDA device (libjpeg-turbo instead of nvjpeg)."""
    monkeypatch.setattr(gpu_decode, "cuda_available", lambda: True)
    monkeypatch.setattr(gpu_decode, "decode_device", lambda device: device)


FAST = dict(batch_size=8, workers=0, progress=False)


def test_a_gpu_decoded_run_records_its_decoder_and_its_own_measurement_id(clean_root, tmp_path, decode_on_cpu):
    (cpu,) = evaluate_suite([ORACLE], "imagenet", clean_root, str(tmp_path / "cpu"), options=EvalOptions(**FAST))
    (gpu,) = evaluate_suite([ORACLE], "imagenet", clean_root, str(tmp_path / "gpu"),
                      options=EvalOptions(**{**FAST, "workers": 2}, decode="gpu"))
    cpu, gpu = load(cpu), load(gpu)
    assert cpu["run"]["decoder"] == "cpu" and gpu["run"]["decoder"] == "gpu"
    assert cpu["measurement_id"] != gpu["measurement_id"]
    assert [v["metrics"]["top1"] for v in gpu["variants"]] == [v["metrics"]["top1"] for v in cpu["variants"]]
    assert gpu["variants"][0]["n_seen"] == cpu["variants"][0]["n_seen"] == 50


def test_cpu_decoding_leaves_the_decoder_out_of_the_measurement_id():
    """CPU-decoded slice results are matched by the measurement id without a decoder entry, as before
    --decode existed; only a GPU-decoded run adds it (test above)."""
    from robench.engine.plan import ModelPlan
    from robench.models import load_model
    from robench.results import stable_hash

    model, suite = load_model(ORACLE), get_suite("imagenet")
    plan = ModelPlan(model, suite, "unused")
    assert "decoder" not in plan.measured and plan.measurement_id == stable_hash(plan.measured)
    assert set(plan.measured) == {"model", "suite", "precision"}
    assert stable_hash({**plan.measured, "decoder": "gpu"}) != plan.measurement_id


def test_as_released_suites_work_with_gpu_decoding(tmp_path, decode_on_cpu):
    """ImageNet-C (JPEG, size from the header) and Stylized-ImageNet (PNG, decoded in the workers)."""
    write_imagenet_c(str(tmp_path / "c"), n_classes=2, per_class=1, size=32, corruptions=["fog"])
    get_suite("stylized-imagenet").write_generated(str(tmp_path / "s"), labels=[0, 999], per_class=2, size=40)
    for suite, root, select in (("imagenet-c", tmp_path / "c", ["fog"]), ("stylized-imagenet", tmp_path / "s", None)):
        records = [load(evaluate_suite([ORACLE], suite, str(root), str(tmp_path / f"out-{decode}"), select=select,
                                 options=EvalOptions(**FAST, decode=decode))[0]) for decode in ("cpu", "gpu")]
        top1 = [[v["metrics"]["top1"] for v in r["variants"]] for r in records]
        assert top1[0] == top1[1] and records[1]["run"]["decoder"] == "gpu"


def test_asked_to_the_leaderboard_puts_both_decoders_in_one_section_and_names_the_gpu_rows(clean_root, tmp_path):
    """`robench leaderboard --same-section decoder`: the issue's "a separate section unless the user asks otherwise"."""
    from click.testing import CliRunner

    from robench.cli import cli
    from robench.errors import RobenchError
    from robench.leaderboard import generate

    entries, _ = _cpu_and_gpu_decoded_entries(clean_root, tmp_path)
    reported = os.path.join(os.path.dirname(__file__), "data", "leaderboard", "reported.csv")
    out = tmp_path / "board" / "README.md"
    runner = CliRunner()
    args = ["leaderboard", "--entries", str(entries), "--reported", reported, "--out", str(out)]
    result = runner.invoke(cli, [*args, "--same-section", "decoder"])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "Generated with `--same-section decoder`" in text and "nvjpeg" not in text
    sections = measured_sections(text)  # generated data: both rows in the one section of that departure
    assert set(sections) == {"cpu", "gpu [decoder: gpu]"} and len(set(sections.values())) == 1
    # --check knows the option: without it the file is stale, and the command it suggests has it
    assert runner.invoke(cli, [*args, "--same-section", "decoder", "--check"]).exit_code == 0
    stale = runner.invoke(cli, [*args, "--check"])
    assert stale.exit_code == 1
    # the same model decoded both ways is one slot once they share a section: the second is named and skipped
    again = load(entries / "cpu" / "imagenet.json")
    again["run"]["decoder"] = "gpu"
    (entries / "cpu" / "imagenet-gpu.json").write_text(json.dumps(again))
    board = generate(str(entries), reported, str(out), merged=("decoder",))
    (problem,) = board.problems
    assert "imagenet-gpu.json" in str(problem) and "once decoder share sections" in str(problem)
    assert len(generate(str(entries), reported, str(out)).problems) == 0  # apart, both have their place
    with pytest.raises(RobenchError, match="cannot share sections across weights"):
        generate(str(entries), reported, str(out), merged=("weights",))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error of a machine without CUDA")
def test_decode_gpu_without_cuda_is_one_line_before_any_work(clean_root, tmp_path):
    from robench.cli import cli

    result = CliRunner().invoke(cli, ["eval", "-m", ORACLE, "-r", str(tmp_path / "missing"), "--decode", "gpu",
                                      "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "--decode gpu needs a CUDA device and torch sees none" in result.output
    assert "missing" not in result.output and not os.path.exists(tmp_path / "out")  # data not even looked at
    with pytest.raises(RobenchError, match="needs a CUDA device"):
        evaluate_suite([ORACLE], "imagenet", clean_root, str(tmp_path / "out"), options=EvalOptions(decode="gpu"))


def test_decode_gpu_with_a_cpu_device_is_refused():
    from robench.cli import cli

    result = CliRunner().invoke(cli, ["eval", "-m", ORACLE, "-r", "/nonexistent", "--decode", "gpu",
                                      "--device", "cpu"])
    assert result.exit_code == 2 and "--device cpu has none" in result.output
    with pytest.raises(RobenchError, match="unknown decoder"):
        gpu_decode.check_decode("nvjpeg")


def _cpu_and_gpu_decoded_entries(clean_root, tmp_path):
    """entries/{cpu,gpu}/imagenet.json: the oracle twice on the same data, the second record then marked
    as decoded on the GPU (no CUDA here: only the label differs). Returns (entries, the gpu record)."""
    entries = tmp_path / "entries"
    for name in ("cpu", "gpu"):
        evaluate_suite([f"{name}={ORACLE}"], "imagenet", clean_root, str(entries), options=EvalOptions(**FAST))
    path = entries / "gpu" / "imagenet.json"
    record = load(path)
    record["run"]["decoder"] = "gpu"
    path.write_text(json.dumps(record))
    return entries, record


def test_the_leaderboard_puts_gpu_decoded_records_in_their_own_section(clean_root, tmp_path):
    from robench.leaderboard import generate, protocol_key
    from robench.leaderboard.protocol import describe

    entries, record = _cpu_and_gpu_decoded_entries(clean_root, tmp_path)
    key = protocol_key(record)
    assert ("decoder", "gpu") in key
    assert "JPEGs decoded on the GPU (nvjpeg), pixels differ slightly from the CPU decoder" in describe(key)
    del record["run"]["decoder"]  # records from before --decode were decoded on the CPU
    assert protocol_key(record) == protocol_key(load(entries / "cpu" / "imagenet.json"))
    board = generate(str(entries), os.path.join(os.path.dirname(__file__), "data", "leaderboard", "reported.csv"),
                     str(tmp_path / "README.md"))
    sections = measured_sections(board.markdown)
    assert set(sections) == {"cpu", "gpu"} and sections["cpu"] != sections["gpu"]
    assert "JPEGs decoded on the GPU (nvjpeg)" in sections["gpu"] and "GPU" not in sections["cpu"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error of a machine without CUDA")
def test_parity_needs_cuda(tmp_path):
    from robench.cli import cli

    result = CliRunner().invoke(cli, ["parity", "-m", ORACLE, "-r", str(tmp_path)])
    assert result.exit_code == 2 and "needs a CUDA device" in result.output


def test_parity_compares_both_decoders(clean_root, tmp_path, decode_on_cpu):
    from robench.cli import cli

    out = tmp_path / "parity"
    result = CliRunner().invoke(cli, ["parity", "-m", ORACLE, "-r", str(clean_root), "-o", str(out), "-j", "0",
                                      "-b", "16", "--no-progress"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = load(out / "parity.json")
    (row,) = summary["rows"]
    assert row["images"] == 50 and row["top1_cpu"] == row["top1_gpu"] == 100.0
    assert row["top1_diff"] == 0.0 and row["changed"] == 0 and "changed (%)" in result.output
    assert load(out / "gpu" / "colour_oracle" / "imagenet.json")["run"]["decoder"] == "gpu"


def test_compare_predictions_counts_changed_top1(tmp_path):
    import pandas as pd

    from robench.commands.parity import compare_predictions

    def write(path, tops):
        pd.DataFrame({"variant": ["val"] * 4, "index": [0, 1, 2, 3], "key": list("abcd"), "label": [1, 2, 3, 4],
                      "top5_class": [[t, 0, 0, 0, 0] for t in tops]}).to_parquet(path)

    write(tmp_path / "a.parquet", [1, 2, 3, 9])
    write(tmp_path / "b.parquet", [1, 2, 7, 4])
    row = compare_predictions(tmp_path / "a.parquet", tmp_path / "b.parquet", "imagenet")
    assert (row["top1_cpu"], row["top1_gpu"], row["top1_diff"], row["changed"], row["changed_pct"]) == (
        75.0, 75.0, 0.0, 2, 50.0)


# --- real CUDA (skipped without a device; benchmarks/device_check.sh runs them) -------------------------

@pytest.mark.cuda
def test_nvjpeg_batches_match_the_cpu_path_within_tolerance():
    files = val_files(32) + [jpeg(9, 120, 90, mode="L"), png(10, 80), jpeg(11, 70, 90, mode="CMYK"),
                             jpeg(12, 300, 200, progressive=True)]
    for k in (key(224, "bicubic", 0.875), key(224, "bilinear", 0.95)):
        got, decoder = gpu_path(files, k, device="cuda")
        assert got.images.is_cuda and got.images.shape == (len(files), 3, 224, 224)
        want = cpu_path(files, k)
        diff = (got.images.cpu().int() - want.int()).abs()
        print(f"nvjpeg vs CPU path {dict(k)['interpolation']}: max {diff.max().item()}, "
              f"mean {diff.float().mean().item():.4f}, fallbacks {decoder.fallbacks}")
        assert diff.max() <= CUDA_MAX_LEVELS and diff.float().mean() <= CUDA_MEAN_LEVELS
        for i in (len(files) - 3, len(files) - 2):  # PNG and CMYK: decoded by PIL, exact
            assert torch.equal(got.images[i].cpu(), want[i])
        gray = got.images[len(files) - 4]
        assert torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])


@pytest.mark.cuda
def test_a_real_gpu_decoded_evaluation(clean_root, tmp_path):
    from engine_support import in_process

    in_process(["eval", "-m", ORACLE, "-r", str(clean_root), "-o", str(tmp_path), "--decode", "gpu",
                "--device", "cuda", "-j", "2", "--no-progress"])
    record = load(tmp_path / "colour_oracle" / "imagenet.json")
    assert record["run"]["decoder"] == "gpu" and record["run"]["device"] == "cuda"
    assert record["variants"][0]["n_seen"] == 50 and record["variants"][0]["metrics"]["top1"] == 100.0


@pytest.mark.cuda
def test_parity_on_cuda(clean_root, tmp_path):
    from engine_support import in_process

    result = in_process(["parity", "-m", ORACLE, "-r", str(clean_root), "-o", str(tmp_path), "-j", "2",
                         "--no-progress"])
    (row,) = load(tmp_path / "parity.json")["rows"]
    assert row["images"] == 50 and row["changed_pct"] <= 10.0, result.output
