"""Several models in one pass: each image is decoded once per preprocessing group and every model of
the group runs on it; the records are the ones separate runs write, number for number."""
import os

import pytest
import torch

from engine_support import ORACLE, comparable, in_process, load, write_imagenet_c
from robench.engine import data as engine_data

SELECT = "gaussian_noise/3,brightness/2"  # 2 variants x 6 images


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    base = tmp_path_factory.mktemp("multi")
    root = write_imagenet_c(str(base / "c"), n_classes=6)
    import timm

    torch.manual_seed(0)
    weights = str(base / "tiny.pth")
    torch.save(timm.create_model("test_resnet", pretrained=False).state_dict(), weights)
    # a and b see the same pixels (one group); tiny (160px, crop 0.95) is a second group
    specs = {"a": f"a={ORACLE}", "b": f"b={ORACLE}", "tiny": f"tiny=test_resnet@{weights}"}
    return root, specs


def eval_args(root, out, specs):
    args = ["eval", "-s", "imagenet-c", "--select", SELECT, "-r", root, "-o", out, "-j", "0", "-b", "4",
            "--no-progress"]
    for spec in specs:
        args += ["-m", spec]
    return args


def test_one_pass_equals_separate_runs(setup, tmp_path, monkeypatch):
    root, specs = setup
    decoded = []

    def counting_decode(data):
        decoded.append(1)
        return real_decode(data)

    real_decode = engine_data.decode_image
    monkeypatch.setattr(engine_data, "decode_image", counting_decode)
    together = str(tmp_path / "together")
    in_process(eval_args(root, together, specs.values()))
    assert len(decoded) == 2 * 12  # 2 pixel groups x 12 images, not 3 models x 12

    for name, spec in specs.items():
        alone = str(tmp_path / f"alone-{name}")
        in_process(eval_args(root, alone, [spec]))
        got = load(os.path.join(together, name, "imagenet-c.json"))
        want = load(os.path.join(alone, name, "imagenet-c.json"))
        assert got["variants"] == want["variants"]
        assert comparable(got, together) == comparable(want, alone)
    # the oracle is exact on the clean-looking cells; the random tiny network is not
    oracle = load(os.path.join(together, "a", "imagenet-c.json"))
    assert [v["n_seen"] for v in oracle["variants"]] == [6, 6]


def test_two_models_with_one_name_is_an_error(setup, tmp_path):
    from click.testing import CliRunner

    from robench.cli import cli

    root, specs = setup
    result = CliRunner().invoke(cli, eval_args(root, str(tmp_path), [ORACLE, ORACLE]))
    assert result.exit_code == 2
    assert "two models share an output name" in result.output


def test_a_model_that_writes_into_its_input_cannot_spoil_the_others(setup, tmp_path):
    """Models that share the workers' normalised batch: the one that writes into it gets copies."""
    root, specs = setup
    together, alone = str(tmp_path / "together"), str(tmp_path / "alone")
    in_process(eval_args(root, together, ["vandal=engine_support:vandal_oracle", specs["a"], specs["b"]]))
    in_process(eval_args(root, alone, [specs["a"]]))
    for name in ("vandal", "a", "b"):
        got = load(os.path.join(together, name, "imagenet-c.json"))
        assert got["variants"] == load(os.path.join(alone, "a", "imagenet-c.json"))["variants"]
