"""CPU forward passes side by side, one thread each: batches really overlap, are scored in order,
and the records (and predictions) are the same whatever the number of runners."""
import os

import pandas as pd
import pytest
import torch

from engine_support import ConcurrencyProbe, comparable, in_process, load, torch_threads
from robench.engine import EvalOptions, evaluate_suite
from robench.engine.runners import Runners


@pytest.fixture
def two_cores():
    with torch_threads(2):
        yield


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """Generated ImageNet val, 12 classes x 8 JPEGs (a stand-in for the real val folder)."""
    from robench.datasets.imagenet import write_imagenet

    out = str(tmp_path_factory.mktemp("runners"))
    write_imagenet(out, n_classes=12, per_class=8, size=48, seed=1)
    return out


def test_cpu_runs_one_pass_per_core_with_one_thread_each_and_restores(two_cores):
    runners = Runners(torch.device("cpu"))
    assert runners.count == 2 and torch.get_num_threads() == 1
    assert runners.submit(lambda: torch.get_num_threads()).result() == 1
    runners.close()
    assert torch.get_num_threads() == 2
    runners = Runners(torch.device("cpu"), threads=3)
    assert runners.count == 3
    runners.close()
    torch.set_num_threads(40)  # a big machine: batches in flight hold memory, so 16 unless asked
    runners = Runners(torch.device("cpu"))
    assert runners.count == 16 and torch.get_num_threads() == 1
    runners.close()
    assert torch.get_num_threads() == 40


def test_accelerators_and_compile_run_inline_with_torch_threads(two_cores):
    for runners in (Runners(torch.device("meta")), Runners(torch.device("cpu"), threads=4, compile=True)):
        assert runners.count == 1 and runners.pool is None and torch.get_num_threads() == 2
        assert runners.submit(lambda: 7).done()
        runners.close()
        assert torch.get_num_threads() == 2


def test_forward_passes_overlap_on_runner_threads(two_cores, root, tmp_path):
    ConcurrencyProbe.reset()
    options = EvalOptions(batch_size=8, workers=0, device="cpu", progress=False)
    (path,) = evaluate_suite(["engine_support:concurrency_probe"], "imagenet", root, str(tmp_path), options=options)
    assert ConcurrencyProbe.calls == 12  # 96 images / 8
    assert ConcurrencyProbe.most_active == 2  # calls 2 and 3 met at the barrier; never more than 2
    assert ConcurrencyProbe.intra_threads == {1}
    assert all(name.startswith("robench-model") for name in ConcurrencyProbe.thread_names)
    assert load(path)["variants"][0]["metrics"]["top1"] == 100.0
    assert torch.get_num_threads() == 2


def test_records_and_predictions_do_not_depend_on_the_runner_count(two_cores, root, tmp_path):
    """Real CNNs with random weights (timm's test_resnet, robench's test_robust_resnet: two pixel
    groups), real DataLoader workers, checkpoints every 2 batches while later batches are in
    flight: 1, 2 and 3 runners write the same records and predictions."""
    import timm

    import robench.models  # noqa: F401  (registers test_robust_resnet with timm)

    torch.manual_seed(0)
    models = []
    for name, arch in (("a", "test_resnet"), ("b", "test_robust_resnet")):
        weights = str(tmp_path / f"{arch}.pth")
        torch.save(timm.create_model(arch).state_dict(), weights)
        models += ["-m", f"{name}={arch}@{weights}"]
    out = {}
    for threads in (1, 2, 3):
        out[threads] = str(tmp_path / f"t{threads}")
        in_process(["eval", "-s", "imagenet", "-r", root, "-o", out[threads], "-b", "4", "-j", "2",
                    "--threads", str(threads), "--progress-every", "2", "--save-predictions",
                    "--no-progress", *models])
    for name in ("a", "b"):
        records = {t: load(os.path.join(d, name, "imagenet.json")) for t, d in out.items()}
        preds = {t: pd.read_parquet(os.path.join(d, name, "imagenet.predictions.parquet")) for t, d in out.items()}
        assert records[1]["variants"][0]["n_seen"] == 96
        for threads in (2, 3):
            assert comparable(records[threads], out[threads]) == comparable(records[1], out[1])
            pd.testing.assert_frame_equal(preds[threads], preds[1])
