"""Model sources through one registry: a plug-in source is one registration (or one entry point),
an unknown ``name:attr`` is still code to import, and a taken name is never silently replaced. A
builder returns ``Built`` (plug-ins' old tuples still work) and a source may list its specs."""
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from click.testing import CliRunner

from robench.cli import cli
from robench.errors import ModelSpecError
from robench.fileio import sha256_file
from robench.models import MODEL_SOURCES, Built, load_model, parse_spec
from robench.registry import RegistryError

BUILT = []


def build_toy(parsed):
    """A stand-in for a package's source (say, CLIP models): any target, a 10-class linear probe."""
    BUILT.append((parsed.target, parsed.weights))
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(3, 10))
    return Built(module, {"input_size": (3, 32, 32), "crop_pct": 1.0})


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
    assert m.weights == "file" and m.weights_sha256 == sha256_file(tmp_path / "w.pth")
    assert m.state_dict_sha256 is None and m.training is None and m.source_info is None


def test_a_plugins_old_four_tuple_is_still_read(tmp_path):
    """Plug-ins written before ``Built``: (module, default_cfg, sha256, info), the hash a file's."""
    MODEL_SOURCES.register("legacy", lambda parsed: (torch.nn.Linear(3, 2), {"input_size": (3, 48, 48)},
                                                     "ab" * 32, {"made_by": "legacy"}))
    try:
        m = load_model("legacy:x")
    finally:
        MODEL_SOURCES.unregister("legacy")
    assert (m.weights, m.weights_sha256, m.state_dict_sha256) == ("file", "ab" * 32, None)
    assert m.source_info == {"made_by": "legacy"} and m.training is None
    assert m.data_config["input_size"] == (3, 48, 48)
    described = m.describe()
    assert described["weights_sha256"] == "ab" * 32 and described["state_dict_sha256"] is None
    assert "checkpoint_sha256" not in described


def test_a_source_that_returns_something_else_is_a_clear_error():
    MODEL_SOURCES.register("odd", lambda parsed: [torch.nn.Linear(3, 2)])
    try:
        with pytest.raises(ModelSpecError, match="model source 'odd' returned list for spec 'odd:x', not "
                                                 r"robench.models.sources.Built \(or the old"):
            load_model("odd:x")
    finally:
        MODEL_SOURCES.unregister("odd")


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
        MODEL_SOURCES.register("timm", "robench.models.loading:TIMM_SOURCE", replace=True)
    assert load_model("resnet18@random").module.num_classes == 1000


def test_built_in_sources_are_listed():
    names = MODEL_SOURCES.names()
    assert {"timm", "torchvision", "tv", "factory", "checkpoint"} <= set(names)
    built_in = [MODEL_SOURCES.origin(name) == "robench" for name in names]
    assert built_in == sorted(built_in, reverse=True)  # robench's own first, then plug-ins'
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


def test_built_in_sources_list_their_specs_and_the_others_say_they_cannot():
    run = lambda *args: CliRunner().invoke(cli, ["list", "models", *args])  # noqa: E731
    listed = run("--source", "tv", "resnet1*")
    assert listed.exit_code == 0 and listed.output.split() == ["tv:resnet101", "tv:resnet152", "tv:resnet18"]
    assert run("--source", "Torchvision", "resnet18").output.split() == ["tv:resnet18"]
    timm_names = run("robust_resnet_dw_*").output.split()
    assert timm_names == ["robust_resnet_dw_small", "robust_resnet_dw_tiny"]
    refused = run("--source", "factory")
    assert refused.exit_code == 2 and refused.output.strip().splitlines() == [
        "Error: model source 'factory' cannot list its models (it has no list_names); its documentation says "
        "which specs it takes"]
    unknown = run("--source", "timmm")
    assert unknown.exit_code == 2 and "unknown model source 'timmm'. Did you mean timm?" in unknown.output


def test_a_plugin_source_lists_its_specs_through_the_entry_point(tmp_path):
    """A package with a ModelSource (build and list_names) and one with a plain builder, both
    installed as pip installs them (a .dist-info with entry_points.txt on the path)."""
    site = tmp_path / "site"
    (site / "clipsource").mkdir(parents=True)
    (site / "clipsource" / "__init__.py").write_text(textwrap.dedent("""
        import fnmatch

        import torch

        from robench.models import Built, ModelSource

        NAMES = ["RN50", "ViT-B-16", "ViT-B-32"]

        def build(parsed):
            return Built(torch.nn.Linear(4, len(parsed.target)))

        def list_names(pattern):
            return [f"clip:{name}" for name in fnmatch.filter(NAMES, pattern)]

        SOURCE = ModelSource(build, list_names)

        def plain(parsed):
            return torch.nn.Linear(4, 2), None, None
    """))
    _fake_distribution(site, "clipsource", "[robench.models]\nclip = clipsource:SOURCE\nbare = clipsource:plain\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.getcwd()]), "HF_HUB_OFFLINE": "1"}

    def robench(*args):
        return subprocess.run([sys.executable, "-m", "robench", *args], capture_output=True, text=True, env=env)

    listed = robench("list", "models", "--source", "clip", "ViT-*")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["clip:ViT-B-16", "clip:ViT-B-32"]
    bare = robench("list", "models", "--source", "bare")
    assert bare.returncode == 2 and bare.stdout == "" and bare.stderr.strip().splitlines() == [
        "Error: model source 'bare' cannot list its models (it has no list_names); its documentation says "
        "which specs it takes"]
    code = "from robench.models import load_model\nprint(load_model('clip:ViT-B-32').module.out_features)\n"
    built = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert built.returncode == 0 and built.stdout.split() == ["8"], built.stderr
