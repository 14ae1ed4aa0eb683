"""Model sources through one registry: a plug-in source is one registration (or one entry point),
an unknown ``name:attr`` is still code to import, and a taken name is never silently replaced."""
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from robench.errors import ModelSpecError
from robench.models import MODEL_SOURCES, load_model, parse_spec
from robench.registry import RegistryError

BUILT = []


def build_toy(parsed):
    """A stand-in for a package's source (say, CLIP models): any target, a 10-class linear probe."""
    BUILT.append((parsed.target, parsed.weights))
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(3, 10))
    return module, {"input_size": (3, 32, 32), "crop_pct": 1.0}, None, None


@pytest.fixture
def toy_source():
    MODEL_SOURCES.register("toy", "test_model_sources:build_toy")
    BUILT.clear()
    yield
    MODEL_SOURCES.unregister("toy")


def test_a_registered_source_is_used_for_its_prefix(toy_source):
    spec = parse_spec("Toy:ViT-B/32@random")
    assert (spec.source, spec.target, spec.weights, spec.name) == ("toy", "ViT-B/32", "random", "ViT-B_32")
    m = load_model("toy:anything")
    assert BUILT == [("anything", None)]
    assert m.name == "anything" and m.weights == "pretrained" and not m.module.training
    assert m.data_config["input_size"] == (3, 32, 32) and m.data_config["crop_pct"] == 1.0
    assert m.module(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_an_object_registers_too_and_gets_the_weights_file(tmp_path):
    from robench.models.loading import apply_weights

    def build(parsed):
        module = torch.nn.Linear(3, 2)
        return module, None, apply_weights(module, parsed)  # three values are enough

    torch.save(torch.nn.Linear(3, 2).state_dict(), tmp_path / "w.pth")
    MODEL_SOURCES.register("probe", build)
    try:
        m = load_model(f"probe:linear@{tmp_path / 'w.pth'}")
    finally:
        MODEL_SOURCES.unregister("probe")
    assert m.weights == "file" and len(m.checkpoint_sha256) == 64 and m.training is None


def test_a_source_that_builds_no_module_is_a_clear_error():
    MODEL_SOURCES.register("broken", lambda parsed: (42, None, None))
    try:
        with pytest.raises(ModelSpecError, match="model source 'broken' built int .* not a torch.nn.Module"):
            load_model("broken:x")
    finally:
        MODEL_SOURCES.unregister("broken")


def test_unknown_source_like_names_are_still_module_factory():
    assert "factories" not in MODEL_SOURCES
    spec = parse_spec("factories:tiny_net")
    assert (spec.source, spec.target, spec.name) == ("factory", "factories:tiny_net", "tiny_net")
    assert load_model("factories:tiny_net").weights == "as-built"
    for form_selected in ("factory:make", "checkpoint:make"):  # never prefixes: a module may bear the name
        assert parse_spec(form_selected).target == form_selected


def test_code_shadowed_by_a_source_name_stays_reachable():
    MODEL_SOURCES.register("factories", build_toy)
    try:
        assert parse_spec("factories:tiny_net").source == "factories"
        spec = parse_spec("factory:factories:tiny_net")
        assert (spec.source, spec.target) == ("factory", "factories:tiny_net")
        assert load_model("factory:factories:tiny_net").module(torch.randn(1, 3, 64, 64)).shape == (1, 1000)
    finally:
        MODEL_SOURCES.unregister("factories")


def test_a_taken_source_name_is_refused_without_replace():
    original = MODEL_SOURCES.get("timm")
    for name in ("timm", "tv", "factory", "checkpoint"):
        with pytest.raises(RegistryError, match=f"model source '{name}' is already registered"):
            MODEL_SOURCES.register(name, build_toy)
    assert MODEL_SOURCES.get("timm") is original
    MODEL_SOURCES.register("timm", build_toy, replace=True)
    try:
        assert load_model("resnet18@random").module(torch.randn(1, 3, 64, 64)).shape == (1, 10)
    finally:
        MODEL_SOURCES.register("timm", "robench.models.loading:build_timm", replace=True)
    assert load_model("resnet18@random").module.num_classes == 1000


def test_built_in_sources_are_listed():
    assert MODEL_SOURCES.names()[:5] == ["timm", "torchvision", "tv", "factory", "checkpoint"]
    assert parse_spec("tv:resnet18").source == parse_spec("torchvision:resnet18").source == "torchvision"


def _fake_distribution(site, name, entry_points):
    info = site / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)


def test_another_package_adds_a_source_through_the_entry_point(tmp_path):
    site = tmp_path / "site"
    (site / "clipsource").mkdir(parents=True)
    (site / "clipsource" / "__init__.py").write_text(textwrap.dedent("""
        import torch

        def build(parsed):
            return torch.nn.Linear(4, int(parsed.target)), None, None
    """))
    _fake_distribution(site, "clipsource", "[robench.models]\nclip = clipsource:build\n")
    code = ("from robench.models import load_model\n"
            "m = load_model('clip:7')\n"
            "print(m.name, m.module.out_features)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.getcwd()]), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["7", "7"]


def test_an_entry_point_cannot_claim_a_built_in_source(tmp_path):
    site = tmp_path / "site"
    _fake_distribution(site, "greedy", "[robench.models]\ntv = greedy:build\n")
    code = "from robench.models import parse_spec\nparse_spec('tv:resnet18')\n"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.getcwd()]), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode != 0
    assert "model source 'tv' is already registered by robench" in proc.stderr
    assert "entry point tv = greedy:build of greedy" in proc.stderr
