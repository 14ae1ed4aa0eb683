"""Shared fixtures. Data is generated in the real on-disk layouts (stand-ins for ImageNet, which
cannot be downloaded here); see robench.datasets.synth for how classes are encoded in colour."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest  # noqa: E402

ORACLE = "robench.models.oracle:colour_oracle"


@pytest.fixture(scope="session")
def clean_root(tmp_path_factory):
    """Generated ImageNet val: 10 classes x 5 JPEGs, ``root/val/<wnid>/*.JPEG``."""
    from robench.datasets.synth import write_imagenet

    root = tmp_path_factory.mktemp("imagenet")
    write_imagenet(str(root), n_classes=10, per_class=5, size=48, seed=0)
    return root
