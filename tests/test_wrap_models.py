"""Plain nn.Module models through the engine: names, records, resumption keyed on the weights."""
import os

import pytest
import torch

from robench.engine import EvalOptions, evaluate_suite
from robench.errors import ModelSpecError, RobenchError
from robench.models import LoadedModel, load_model
from robench.models.oracle import ColourOracle
from robench.models.preprocess import resolve_config
from robench.models.wrap import as_loaded_model, safe_name, state_dict_sha256
from robench.results import read_record

from engine_support import ORACLE

FAST = EvalOptions(batch_size=4, workers=0, progress=False)


@pytest.fixture(scope="module")
def small_root(tmp_path_factory):
    """Generated ImageNet val: 3 classes x 2 JPEGs."""
    from robench.datasets.imagenet import write_imagenet

    root = tmp_path_factory.mktemp("imagenet-small")
    write_imagenet(str(root), n_classes=3, per_class=2, size=32)
    return root


class CountingOracle(ColourOracle):
    """The colour oracle, counting its forward calls; ``tweak`` changes its weights, not its answers."""

    def __init__(self, tweak=0.0):
        super().__init__()
        self.register_buffer("tweak", torch.tensor([tweak]))
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return super().forward(x)


def _cell(out, name):
    return out / name / ".slices" / "imagenet" / "imagenet__val.json"


def test_timm_module_record_and_resume(small_root, tmp_path):
    import timm

    torch.manual_seed(0)
    model = timm.create_model("resnet18", pretrained=False, num_classes=1000)
    (path,) = evaluate_suite([as_loaded_model(model)], "imagenet", small_root, tmp_path, options=FAST)
    assert path == os.path.join(str(tmp_path), "resnet18", "imagenet.json")
    record = read_record(path)
    section = record["model"]
    assert section["name"] == "resnet18"
    assert section["spec"] == "python:timm.models.resnet.ResNet"
    assert section["weights"] == "in-memory"
    assert section["state_dict_sha256"] == state_dict_sha256(model) and len(section["state_dict_sha256"]) == 64
    expected = {k: list(v) if isinstance(v, tuple) else v for k, v in resolve_config(model).items()}
    assert section["data_config"] == expected and "preprocessing_overrides" not in section
    assert section["params"] == sum(p.numel() for p in model.parameters())
    assert record["variants"][0]["n_seen"] == 6

    cell = _cell(tmp_path, "resnet18")
    before = cell.stat().st_mtime_ns
    torch.manual_seed(0)  # a new object with the same weights, as in a new process
    again = timm.create_model("resnet18", pretrained=False, num_classes=1000)
    evaluate_suite([as_loaded_model(again)], "imagenet", small_root, tmp_path, options=FAST)
    assert cell.stat().st_mtime_ns == before

    with torch.no_grad():
        again.fc.bias.add_(0.5)
    (path,) = evaluate_suite([as_loaded_model(again)], "imagenet", small_root, tmp_path, options=FAST)
    assert cell.stat().st_mtime_ns != before
    assert read_record(path)["model"]["state_dict_sha256"] == state_dict_sha256(again) != section["state_dict_sha256"]
    assert read_record(path)["measurement_id"] != record["measurement_id"]


def test_oracle_module_scores_100_and_resumes_on_equal_weights_only(small_root, tmp_path):
    first = CountingOracle()
    (path,) = evaluate_suite([as_loaded_model(first)], "imagenet", small_root, tmp_path, options=FAST)
    record = read_record(path)
    assert record["variants"][0]["metrics"]["top1"] == 100.0
    assert record["model"]["name"] == "countingoracle"
    assert record["model"]["spec"] == f"python:{__name__}.CountingOracle"
    assert record["model"]["data_config"]["input_size"] == [3, 64, 64]  # the oracle's own config
    assert first.calls > 0

    same = CountingOracle()
    evaluate_suite([as_loaded_model(same)], "imagenet", small_root, tmp_path, options=FAST)
    assert same.calls == 0  # equal weights: the cell is reused

    changed = CountingOracle(tweak=1.0)
    (path,) = evaluate_suite([as_loaded_model(changed)], "imagenet", small_root, tmp_path, options=FAST)
    assert changed.calls > 0  # other weights never share a cell
    assert read_record(path)["variants"][0]["metrics"]["top1"] == 100.0


def test_plain_colour_oracle_and_a_spec_in_one_run(small_root, tmp_path):
    models = [as_loaded_model(ColourOracle()), as_loaded_model(ORACLE)]
    paths = evaluate_suite(models, "imagenet", small_root, tmp_path, options=FAST)
    records = [read_record(p) for p in paths]
    assert [r["model"]["name"] for r in records] == ["colouroracle", "colour_oracle"]
    assert [r["model"]["weights"] for r in records] == ["in-memory", "as-built"]
    assert all(r["variants"][0]["metrics"]["top1"] == 100.0 for r in records)


def test_name_spec_and_data_config_are_recorded(small_root, tmp_path):
    model = as_loaded_model(ColourOracle(), name="My-Oracle_1", spec="python:lab.Oracle", data_config={"crop_pct": 1.0})
    (path,) = evaluate_suite([model], "imagenet", small_root, tmp_path, options=FAST)
    section = read_record(path)["model"]
    assert path == os.path.join(str(tmp_path), "My-Oracle_1", "imagenet.json")
    assert section["spec"] == "python:lab.Oracle" and section["name"] == "My-Oracle_1"
    assert section["data_config"]["crop_pct"] == 1.0
    assert section["preprocessing_overrides"] == {"crop_pct": 1.0}  # a departure from the oracle's own config


def test_module_without_timm_config_uses_defaults_or_the_given_config():
    from factories import TinyNet

    plain = as_loaded_model(TinyNet())
    assert plain.name == "tinynet" and plain.spec == "python:factories.TinyNet"
    assert plain.data_config == resolve_config(TinyNet())
    given = {"input_size": 32, "crop_pct": 1.0, "interpolation": "bilinear", "mean": [0.5] * 3, "std": (0.25,) * 3}
    configured = as_loaded_model(TinyNet(), data_config=given)
    assert configured.data_config["input_size"] == (3, 32, 32)
    assert configured.data_config["interpolation"] == "bilinear" and configured.data_config["mean"] == (0.5,) * 3
    assert configured.preprocessing_overrides is None  # it is the module's protocol, not a departure


def test_spec_strings_and_loaded_models_pass_through():
    loaded = as_loaded_model(ORACLE)
    assert isinstance(loaded, LoadedModel) and loaded.spec == ORACLE and loaded.name == "colour_oracle"
    assert as_loaded_model(loaded) is loaded
    renamed = as_loaded_model(loaded, name="other")
    assert renamed.name == "other" and renamed.module is loaded.module and loaded.name == "colour_oracle"
    overridden = as_loaded_model(ORACLE, data_config={"crop_pct": 1.0})
    assert overridden.preprocessing_overrides == {"crop_pct": 1.0}
    assert load_model(ORACLE).describe() == loaded.describe()


def test_digest_is_deterministic_and_sees_values_dtypes_and_keys():
    a, b = ColourOracle(), ColourOracle()
    assert state_dict_sha256(a) == state_dict_sha256(b)
    assert state_dict_sha256(a) != state_dict_sha256(ColourOracle().double())
    assert state_dict_sha256(CountingOracle()) != state_dict_sha256(CountingOracle(tweak=1e-6))
    assert state_dict_sha256(a) != state_dict_sha256(CountingOracle())  # an extra buffer
    assert as_loaded_model(torch.compile(a)).state_dict_sha256 == state_dict_sha256(a)  # wrappers unwrapped


def test_names_are_safe_for_paths():
    assert safe_name("hf-hub:Org/Model v2") == "hf-hub_org_model_v2"
    assert safe_name("..") == "model" and safe_name("///") == "model"
    odd = ColourOracle()
    odd.pretrained_cfg = {**odd.pretrained_cfg, "architecture": "../Evil/Name"}
    assert as_loaded_model(odd).name == ".._evil_name"
    for bad in ("..", ".", "a/b", "", "x y"):
        with pytest.raises(ModelSpecError, match="folder name"):
            as_loaded_model(ColourOracle(), name=bad)


@pytest.mark.parametrize("thing, words", [(42, "int"), (None, "NoneType"), ([ColourOracle()], "list"),
                                          (torch.zeros(1), "torch.Tensor")])
def test_anything_else_is_a_clear_error(thing, words):
    with pytest.raises(ModelSpecError, match=f"cannot evaluate a {words}"):
        as_loaded_model(thing)


@pytest.mark.parametrize("config, words", [
    ({"size": 224}, "unknown key"), ({"crop_pct": 0}, "crop_pct"), ({"input_size": (224, 224)}, "input_size"),
    ({"interpolation": "cubic"}, "interpolation"), ({"std": [1, 0, 1]}, "std"), ({"mean": [0.5]}, "mean"),
    ("bicubic", "must be a dict"),
])
def test_bad_data_config_is_a_clear_error(config, words):
    with pytest.raises(RobenchError, match=words):
        as_loaded_model(ColourOracle(), data_config=config)


def test_meaningless_combinations_are_refused():
    with pytest.raises(ModelSpecError, match="spec="):
        as_loaded_model(ORACLE, spec="python:x.Y")
    with pytest.raises(ModelSpecError, match="already has"):
        as_loaded_model(load_model(ORACLE), data_config={"crop_pct": 1.0})
