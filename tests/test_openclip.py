"""Zero-shot CLIP models from open_clip as the ``openclip`` model source, on a tiny architecture
registered here (random or file weights: nothing is downloaded): the spec forms, the zero-shot head
(80 templates x 1000 class names, checked by hand on two classes), preprocessing mapped exactly onto
robench's data config, records of `robench eval` on ImageNet and ImageNet-R, and the error for
pretrained weights that are not in the local cache."""
import json

import pytest

open_clip = pytest.importorskip("open_clip", reason="open_clip_torch is not installed: pip install 'robench[openclip]'")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from PIL import Image  # noqa: E402

from robench.cli import cli  # noqa: E402
from robench.datasets import get_suite  # noqa: E402
from robench.datasets.imagenet import write_imagenet  # noqa: E402
from robench.errors import ModelSpecError  # noqa: E402
from robench.fileio import sha256_file  # noqa: E402
from robench.models import load_model, parse_spec  # noqa: E402
from robench.models import openclip_source  # noqa: E402
from robench.models.preprocess import build_transform, pixel_key  # noqa: E402
from robench.results import read_record  # noqa: E402

TINY = "robench-tiny-clip"
# One block per tower, 16-d embeddings, 32 px images. A context of 24 tokens holds the longest of the
# 80 x 1000 prompts (22 tokens with start and end), so the tiny text tower reads every prompt whole.
TINY_CONFIG = {"embed_dim": 16,
               "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
               "text_cfg": {"context_length": 24, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny architecture registered with open_clip for this module."""
    from open_clip import factory

    path = tmp_path_factory.mktemp("openclip-config") / f"{TINY}.json"
    path.write_text(json.dumps(TINY_CONFIG))
    open_clip.add_model_config(str(path))
    yield TINY
    factory._MODEL_CONFIG_PATHS.remove(path)
    factory._MODEL_CONFIGS.pop(TINY, None)


@pytest.fixture(scope="module")
def from_file(tiny, tmp_path_factory):
    """(the open_clip model, its weights file, robench's LoadedModel of openclip:TINY@file)."""
    torch.manual_seed(0)
    clip = open_clip.create_model(tiny).eval()
    path = tmp_path_factory.mktemp("openclip-weights") / "tiny_clip.bin"
    torch.save(clip.state_dict(), path)
    return clip, str(path), load_model(f"openclip:{tiny}@{path}")


def test_specs_parse():
    spec = parse_spec("openclip:ViT-B-32/laion2b_s34b_b79k")
    assert (spec.source, spec.target, spec.weights, spec.name) == (
        "openclip", "ViT-B-32/laion2b_s34b_b79k", None, "ViT-B-32_laion2b_s34b_b79k")
    spec = parse_spec("OpenCLIP:ViT-B-32@random")
    assert (spec.source, spec.target, spec.weights) == ("openclip", "ViT-B-32", "random")
    spec = parse_spec("clip=openclip:ViT-B-32@/w/open_clip_pytorch_model.bin")
    assert (spec.source, spec.target, spec.weights, spec.name) == (
        "openclip", "ViT-B-32", "/w/open_clip_pytorch_model.bin", "clip")


def test_class_names_are_in_robench_label_order():
    from timm.data import ImageNetInfo

    names = open_clip.IMAGENET_CLASSNAMES
    assert len(names) == 1000 and len(open_clip.OPENAI_IMAGENET_TEMPLATES) == 80
    info = ImageNetInfo()  # the sorted-wnid order robench's labels use
    for index, name in ((0, "tench"), (1, "goldfish"), (988, "acorn"), (999, "toilet paper")):
        assert names[index] == name
        assert name.split()[0].lower() in info.index_to_description(index).lower()


def test_the_head_is_the_normalised_mean_of_template_embeddings(from_file):
    clip, path, loaded = from_file
    module, tokenizer = loaded.module, open_clip.get_tokenizer(TINY)
    weights = module.classifier
    assert weights.shape == (16, 1000) and weights.dtype == torch.float32
    assert torch.allclose(weights.norm(dim=0), torch.ones(1000), atol=1e-5)
    with torch.no_grad():
        for k in (0, 988):  # by hand: 80 prompts, embedded, normalised, averaged, normalised
            prompts = [template(open_clip.IMAGENET_CLASSNAMES[k]) for template in open_clip.OPENAI_IMAGENET_TEMPLATES]
            assert len(set(prompts)) == 80 and open_clip.IMAGENET_CLASSNAMES[k] in prompts[0]
            embedded = clip.encode_text(tokenizer(prompts))
            embedded = embedded / embedded.norm(dim=-1, keepdim=True)
            mean = embedded.mean(dim=0)
            assert torch.allclose(weights[:, k], mean / mean.norm(), atol=1e-5), k
        # the module robench runs: 100 x cosine(image embedding, class weights), 1000-way
        x = torch.randn(3, 3, 32, 32)
        image = clip.encode_image(x, normalize=True)
        assert torch.allclose(module(x), 100.0 * image @ weights, atol=1e-4)
    assert module(x).shape == (3, 1000) and module.num_classes == 1000


def test_file_weights_are_loaded_and_hashed(from_file):
    clip, path, loaded = from_file
    assert loaded.weights == "file" and loaded.weights_sha256 == sha256_file(path) and loaded.state_dict_sha256 is None
    visual = loaded.module.visual.state_dict()
    assert all(torch.equal(visual[k], v) for k, v in clip.visual.state_dict().items())
    state = loaded.module.state_dict()
    assert not any(k.startswith(("transformer.", "token_embedding")) for k in state)  # the text tower is dropped
    info = loaded.source_info
    assert loaded.training is None  # not a robench training run
    assert info["source"] == "openclip" and info["architecture"] == TINY and info["pretrained"] is None
    assert info["weights_file"] == path and info["open_clip_version"] == open_clip.__version__
    head = info["zero_shot"]
    assert head["templates"] == "open_clip.zero_shot_metadata.OPENAI_IMAGENET_TEMPLATES" and head["n_templates"] == 80
    assert head["class_names"] == "open_clip.zero_shot_metadata.IMAGENET_CLASSNAMES" and head["n_classes"] == 1000
    assert head["logit_scale"] == 100.0 and len(head["templates_sha256"]) == len(head["class_names_sha256"]) == 64


def test_a_file_for_another_architecture_is_a_clear_error(tiny, tmp_path):
    torch.save({"visual.conv1.weight": torch.zeros(1)}, tmp_path / "other.bin")
    with pytest.raises(ModelSpecError, match=f"do not fit open_clip model '{TINY}'"):
        load_model(f"openclip:{tiny}@{tmp_path / 'other.bin'}")


def test_preprocessing_is_open_clips_own(from_file):
    clip, _, loaded = from_file
    assert loaded.data_config == {"input_size": (3, 32, 32), "crop_pct": 1.0, "crop_mode": "center",
                                  "interpolation": "bicubic", "mean": open_clip.OPENAI_DATASET_MEAN,
                                  "std": open_clip.OPENAI_DATASET_STD}
    siglip = open_clip_source_preprocess(clip, open_clip.get_pretrained_cfg("ViT-B-16-SigLIP", "webli"))
    assert siglip["resize_mode"] == "squash" and siglip["size"] == (32, 32)  # the size is the tower's
    config = openclip_source.data_config(siglip)
    assert (config["crop_mode"], config["crop_pct"], config["mean"]) == ("squash", 1.0, (0.5, 0.5, 0.5))
    assert openclip_source.data_config({**siglip, "resize_mode": "longest"})["crop_mode"] == "border"


def open_clip_source_preprocess(clip, tag_cfg):
    return openclip_source.model_preprocess(open_clip, clip, tag_cfg)


@pytest.mark.parametrize("mode,size", [("shortest", 32), ("squash", 32), ("shortest", 24)])
def test_robench_pixels_equal_open_clips_transform(mode, size):
    """The same image through open_clip's eval transform and through robench's (uint8 on the CPU,
    normalised on the device) gives the same tensor."""
    from open_clip.transform import PreprocessCfg, image_transform_v2

    cfg = PreprocessCfg(size=size, resize_mode=mode, interpolation="bicubic")
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (45, 70, 3), dtype=np.uint8))
    theirs = image_transform_v2(cfg, is_train=False)(image)
    config = openclip_source.data_config(vars(cfg))
    ours = build_transform(pixel_key(config))(image).float()
    mean, std = (torch.tensor(config[k]).view(3, 1, 1) * 255.0 for k in ("mean", "std"))
    assert ours.shape == theirs.shape == (3, size, size)
    assert torch.allclose((ours - mean) / std, theirs, atol=1e-5)


def test_missing_pretrained_weights_say_how_to_fetch_them(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))  # an empty cache
    monkeypatch.setenv("HOME", str(tmp_path))  # and an empty ~/.cache/clip
    with pytest.raises(ModelSpecError) as error:
        load_model("openclip:ViT-B-32/laion2b_s34b_b79k")
    text = str(error.value)
    assert "no local weights for open_clip model 'ViT-B-32' pretrained 'laion2b_s34b_b79k'" in text
    assert "robench never downloads" in text and "laion/CLIP-ViT-B-32-laion2B-s34B-b79K" in text
    assert "open_clip.create_model('ViT-B-32', pretrained='laion2b_s34b_b79k')" in text
    assert "openclip:ViT-B-32@random" in text
    with pytest.raises(ModelSpecError, match=r"openai.*\.cache/clip/ViT-B-32\.pt"):
        load_model("openclip:ViT-B-32/openai")  # a tag with a URL: open_clip's own cache is looked in too
    with pytest.raises(ModelSpecError, match="names no weights: use openclip:ViT-B-32/TAG .*laion2b_s34b_b79k"):
        load_model("openclip:ViT-B-32")
    with pytest.raises(ModelSpecError, match="no pretrained tag 'laion2b' for 'ViT-B-32'"):
        load_model("openclip:ViT-B-32/laion2b@random")
    with pytest.raises(ModelSpecError, match="unknown open_clip architecture 'ViT-B-33'.*ViT-B-32"):
        load_model("openclip:ViT-B-33@random")


def test_eval_writes_records_on_imagenet_and_imagenet_r(tiny, tmp_path):
    write_imagenet(str(tmp_path / "imagenet"), n_classes=3, per_class=2, size=40)
    get_suite("imagenet-r").write_generated(str(tmp_path / "imagenet-r"), labels=[1, 2, 988], per_class=2, size=40)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, [
        "eval", "-m", f"openclip:{tiny}@random", "-s", "imagenet,imagenet-r",
        "-r", f"imagenet={tmp_path / 'imagenet'}", "-r", f"imagenet-r={tmp_path / 'imagenet-r'}",
        "-o", str(out), "-j", "0", "-b", "4", "--no-progress"])
    assert result.exit_code == 0, result.output
    for suite in ("imagenet", "imagenet-r"):
        record = read_record(out / TINY / f"{suite}.json")
        model = record["model"]
        assert model["spec"] == f"openclip:{tiny}@random" and model["weights"] == "random"
        assert model["source_info"]["source"] == "openclip" and model["source_info"]["zero_shot"]["n_templates"] == 80
        assert "training" not in model
        assert model["data_config"]["input_size"] == [3, 32, 32] and model["data_config"]["crop_pct"] == 1.0
        (variant,) = record["variants"]
        assert variant["n_seen"] == 6 and 0.0 <= variant["metrics"]["top1"] <= 100.0
    record = read_record(out / TINY / "imagenet-r.json")
    assert "top1_1000way" in record["variants"][0]["metrics"]  # its 1000-way logits are scored both ways
    assert record["variants"][0]["metrics"]["top1_1000way"] <= record["variants"][0]["metrics"]["top1"]


def test_clip_models_with_the_same_preprocessing_share_one_decode(from_file, tmp_path, monkeypatch):
    import dataclasses

    from robench.engine import EvalOptions, evaluate_suite
    from robench.engine import data as engine_data

    _, _, loaded = from_file
    twin = dataclasses.replace(loaded, name="twin")  # another CLIP model with the same preprocessing
    get_suite("imagenet-r").write_generated(str(tmp_path / "r"), labels=[1, 2, 988], per_class=2, size=40)
    decoded, real_decode = [], engine_data.decode_image
    monkeypatch.setattr(engine_data, "decode_image", lambda data: decoded.append(1) or real_decode(data))
    paths = evaluate_suite([loaded, twin], "imagenet-r", str(tmp_path / "r"), str(tmp_path / "out"),
                     options=EvalOptions(batch_size=4, workers=0, progress=False))
    assert len(paths) == 2 and len(decoded) == 6  # 6 images decoded once for both models
    first, second = (read_record(p)["variants"][0] for p in paths)
    assert first["state"] == second["state"]


def test_list_models_shows_open_clips_tags_as_specs():
    result = CliRunner().invoke(cli, ["list", "models", "--source", "openclip", "ViT-B-32/*"])
    assert result.exit_code == 0, result.output
    specs = result.output.split()
    expected = sorted({f"openclip:{a}/{t}" for a, t in open_clip.list_pretrained() if a == "ViT-B-32"})
    assert specs == expected and "openclip:ViT-B-32/laion2b_s34b_b79k" in specs


def test_the_zero_shot_head_is_built_once_per_weights_and_checked_when_read(tiny, from_file, tmp_path, monkeypatch,
                                                                             capfd):
    """Building the head is the slow part of loading a CLIP model (80,000 prompts through the text tower)."""
    from robench.models import zero_shot_cache

    _, path, _ = from_file
    monkeypatch.setenv("ROBENCH_CACHE_DIR", str(tmp_path / "cache"))
    spec = f"openclip:{tiny}@{path}"
    first = load_model(spec).module.classifier
    (cached,) = (tmp_path / "cache" / "zero-shot").glob("*.pt")
    assert "built in" in capfd.readouterr().err

    def no_build(*args, **kwargs):
        raise AssertionError("the head was built again")

    monkeypatch.setattr(openclip_source, "zero_shot_classifier", no_build)
    assert torch.equal(load_model(spec).module.classifier, first)
    assert "read from the cache" in capfd.readouterr().err

    # a damaged entry is named, rebuilt and replaced; a head of other weights is never read for these
    monkeypatch.undo()
    monkeypatch.setenv("ROBENCH_CACHE_DIR", str(tmp_path / "cache"))
    for damage in (b"not a torch file", None):
        if damage is None:
            torch.save({"key": cached.stem, "classifier": first * 2}, cached)  # right key, not unit columns
        else:
            cached.write_bytes(damage)
        assert torch.equal(load_model(spec).module.classifier, first)
        err = capfd.readouterr().err
        assert "is not usable" in err and "building it again" in err
    assert zero_shot_cache._read(str(cached), "another key", 1000)[1] == "it was written for another model or head"

    # random weights are built every time; ROBENCH_CACHE_DIR=off caches nothing
    load_model(f"openclip:{tiny}@random")
    torch.manual_seed(1)
    other = tmp_path / "other.bin"
    torch.save(open_clip.create_model(tiny).state_dict(), other)
    monkeypatch.setenv("ROBENCH_CACHE_DIR", "off")
    load_model(f"openclip:{tiny}@{other}")
    assert len(list((tmp_path / "cache" / "zero-shot").glob("*.pt"))) == 1
    monkeypatch.setenv("ROBENCH_CACHE_DIR", str(tmp_path / "cache"))
    load_model(f"openclip:{tiny}@{other}")  # other weights: their own entry
    assert len(list((tmp_path / "cache" / "zero-shot").glob("*.pt"))) == 2
