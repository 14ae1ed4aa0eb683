"""Shared fixtures. Data is generated in the real on-disk layouts (stand-ins for ImageNet, which
cannot be downloaded here); see robench.datasets.colour_code for how classes are encoded in colour."""
import os
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# caches robench writes (zero-shot heads) go to a folder of this test session, never the user's ~/.cache
os.environ.setdefault("ROBENCH_CACHE_DIR", tempfile.mkdtemp(prefix="robench-test-cache-"))

import pytest  # noqa: E402

ORACLE = "robench.models.oracle:colour_oracle"


def pytest_collection_modifyitems(config, items):
    """Tests marked ``cuda`` need a CUDA device: skipped, saying why, where torch sees none."""
    cuda_tests = [item for item in items if item.get_closest_marker("cuda") is not None]
    if not cuda_tests:
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device (torch.cuda.is_available() is False); "
                                   "benchmarks/device_check.sh runs these on a GPU machine")
    for item in cuda_tests:
        item.add_marker(skip)


@pytest.fixture(scope="session")
def clean_root(tmp_path_factory):
    """Generated ImageNet val: 10 classes x 5 JPEGs, ``root/val/<wnid>/*.JPEG``."""
    from robench.datasets.imagenet import write_imagenet

    root = tmp_path_factory.mktemp("imagenet")
    write_imagenet(str(root), n_classes=10, per_class=5, size=48, seed=0)
    return root


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """A real one-node Slurm cluster (tests/slurm_cluster.py) for the session; SLURM_CONF points at it.
    Skipped, with the reason, only where its daemons cannot start; ROBENCH_REQUIRE_SLURM=1 (CI) fails instead."""
    from slurm_cluster import CannotStart, Cluster

    cluster = Cluster(str(tmp_path_factory.mktemp("slurm")))
    try:
        cluster.start()
    except CannotStart as e:
        if os.environ.get("ROBENCH_REQUIRE_SLURM") == "1":
            pytest.fail(f"ROBENCH_REQUIRE_SLURM=1 but the Slurm test cluster cannot start: {e}")
        pytest.skip(f"no local Slurm cluster: {e}")
    before = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = cluster.conf
    try:
        yield cluster
    finally:
        cluster.stop()
        if before is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = before
