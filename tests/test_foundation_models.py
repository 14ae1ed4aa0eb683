"""Model specs: timm, torchvision, checkpoint files (plain, wrapped, prefixed, safetensors), factories."""
import os

import pytest
import torch

from robench.errors import ModelSpecError
from robench.fileio import sha256_file
from robench.models import load_model, parse_spec
from robench.models.wrap import state_dict_sha256

X = torch.randn(2, 3, 64, 64)


def test_spec_grammar():
    s = parse_spec("resnet50.a1_in1k")
    assert (s.source, s.target, s.weights, s.name) == ("timm", "resnet50.a1_in1k", None, "resnet50.a1_in1k")
    s = parse_spec("tv:resnet18@random")
    assert (s.source, s.target, s.weights) == ("torchvision", "resnet18", "random")
    s = parse_spec("mine=pkg.mod:make@/ck/w.pth")
    assert (s.source, s.target, s.weights, s.name) == ("factory", "pkg.mod:make", "/ck/w.pth", "mine")
    s = parse_spec("/runs/a/best.pth")
    assert (s.source, s.target, s.name) == ("checkpoint", "/runs/a/best.pth", "best")
    with pytest.raises(ModelSpecError):
        parse_spec("resnet18@")


def test_timm_random_init_and_config():
    m = load_model("resnet18@random")
    assert m.module(X).shape == (2, 1000)
    assert m.data_config["interpolation"] == "bicubic" and m.data_config["crop_pct"] == 0.95
    assert not m.module.training


def test_timm_pretrained_without_local_weights_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(ModelSpecError, match="never downloads.*@random"):
        load_model("resnet18")


def test_unknown_timm_name_suggests():
    with pytest.raises(ModelSpecError, match="Did you mean resnet18"):
        load_model("resnet18x@random")


def test_torchvision_random_init_uses_its_eval_transform():
    m = load_model("tv:resnet18@random")
    assert m.module(X).shape == (2, 1000)
    assert m.data_config["input_size"] == (3, 224, 224)
    assert m.data_config["crop_pct"] == pytest.approx(224 / 256)
    assert m.data_config["interpolation"] == "bilinear"


def test_overrides_replace_the_config():
    m = load_model("resnet18@random", input_size=128, crop_pct=1.0, interpolation="bilinear")
    assert m.data_config["input_size"] == (3, 128, 128)
    assert (m.data_config["crop_pct"], m.data_config["interpolation"]) == (1.0, "bilinear")


def _same_logits(a, b):
    with torch.no_grad():
        assert torch.equal(a.module(X), b.module(X))


@pytest.mark.parametrize("wrap", [None, "model", "state_dict", "state_dict_ema"])
@pytest.mark.parametrize("prefix", ["", "module."])
def test_checkpoint_round_trip_wrapped_and_prefixed(tmp_path, wrap, prefix):
    src = load_model("resnet18@random")
    with torch.no_grad():
        for p in src.module.parameters():
            p.add_(0.01)  # not the init a fresh model would get
    state = {prefix + k: v for k, v in src.module.state_dict().items()}
    path = tmp_path / "w.pth"
    torch.save({wrap: state, "epoch": 3} if wrap else state, path)
    loaded = load_model(f"resnet18@{path}")
    _same_logits(src, loaded)
    assert loaded.weights == "file" and loaded.weights_sha256 == sha256_file(path) and loaded.state_dict_sha256 is None
    assert loaded.name == "resnet18-w"


def test_safetensors_checkpoint(tmp_path):
    from safetensors.torch import save_file

    src = load_model("resnet18@random")
    save_file(src.module.state_dict(), str(tmp_path / "w.safetensors"))
    _same_logits(src, load_model(f"resnet18@{tmp_path / 'w.safetensors'}"))


def test_checkpoint_recording_its_arch_loads_by_path(tmp_path):
    src = load_model("resnet18@random")
    torch.save({"arch": "resnet18", "model": src.module.state_dict()}, tmp_path / "best.pth")
    loaded = load_model(str(tmp_path / "best.pth"))
    _same_logits(src, loaded)
    # identified by its tensors, not its bytes (a resumed run's file differs in optimizer state)
    assert loaded.weights == "file" and loaded.weights_sha256 is None
    assert loaded.state_dict_sha256 == state_dict_sha256(src.module)


def test_checkpoint_without_arch_asks_for_it(tmp_path):
    torch.save(load_model("resnet18@random").module.state_dict(), tmp_path / "w.pth")
    with pytest.raises(ModelSpecError, match="ARCH@"):
        load_model(str(tmp_path / "w.pth"))


def test_mismatched_checkpoint_is_a_clear_error(tmp_path):
    torch.save(load_model("resnet18@random").module.state_dict(), tmp_path / "w.pth")
    with pytest.raises(ModelSpecError, match="does not (match|fit) the model"):
        load_model(f"resnet34@{tmp_path / 'w.pth'}")


class _Payload:
    def __reduce__(self):  # what a hostile file holds: a call made when it is unpickled
        return (open, ("/tmp/robench-pickle-ran", "w"))


def test_pickled_code_is_never_executed(tmp_path):
    torch.save({"model": object()}, tmp_path / "evil.pth")  # needs full unpickling
    with pytest.raises(ModelSpecError) as raised:
        load_model(f"resnet18@{tmp_path / 'evil.pth'}")
    # one line, no torch advice to set weights_only=False
    assert str(raised.value) == (f"{tmp_path / 'evil.pth'} is not a plain weights file (it holds pickled Python "
                                 "objects); robench will not execute code from it: save its state_dict (or use "
                                 ".safetensors)")
    if os.path.exists("/tmp/robench-pickle-ran"):
        os.unlink("/tmp/robench-pickle-ran")
    torch.save({"state_dict": _Payload()}, tmp_path / "payload.pth")
    with pytest.raises(ModelSpecError, match="will not execute code from it"):
        load_model(f"resnet18@{tmp_path / 'payload.pth'}")
    assert not os.path.exists("/tmp/robench-pickle-ran")


@pytest.mark.parametrize("content", [b"\xff" * 8 + b"garbage", b"\x10\x00\x00\x00\x00\x00\x00\x00{not json", b""])
def test_a_damaged_safetensors_file_is_one_line(tmp_path, content):
    (tmp_path / "w.safetensors").write_bytes(content)
    with pytest.raises(ModelSpecError, match=r"^cannot read .*w\.safetensors: not a valid safetensors file \("):
        load_model(f"resnet18@{tmp_path / 'w.safetensors'}")


def test_module_factory_and_its_checkpoint(tmp_path):
    m = load_model("factories:tiny_net")
    assert m.module(X).shape == (2, 1000) and m.weights == "as-built"
    assert m.data_config["input_size"] == (3, 224, 224)  # timm defaults for a model without config
    torch.save(m.module.state_dict(), tmp_path / "t.pth")
    _same_logits(m, load_model(f"factories:tiny_net@{tmp_path / 't.pth'}"))


def test_factory_errors():
    with pytest.raises(ModelSpecError, match="cannot import"):
        load_model("no_such_module_xyz:make")
    with pytest.raises(ModelSpecError, match="not a torch.nn.Module"):
        load_model("factories:not_a_module")


@pytest.mark.parametrize("order", [
    "import robench, timm",
    "import timm, robench",
    # looking timm's data files up (importlib.util.find_spec) must not disarm the registration
    "import robench\nfrom robench.labels import imagenet_wnids\nimagenet_wnids()\nimport timm",
])
def test_robust_resnets_join_timm_registry_in_either_import_order(order):
    import subprocess
    import sys

    code = f"{order}\nassert timm.is_model('robust_resnet_dw_small'), 'not registered'"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_eval_loads_the_paper_models_by_name():
    m = load_model("test_robust_resnet@random")
    assert m.data_config["input_size"] == (3, 64, 64)
    assert m.module(X).shape == (2, 1000)
