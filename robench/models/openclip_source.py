"""Zero-shot CLIP models from open_clip (``pip install open_clip_torch``) as the ``openclip`` model source.

Specs::

    openclip:ARCH/PRETRAINED        open_clip's pretrained tag, e.g. openclip:ViT-B-32/laion2b_s34b_b79k:
                                    weights from the local Hugging Face hub cache (or open_clip's own
                                    ~/.cache/clip for tags that only have a URL), never downloaded
    openclip:ARCH@random            random weights (tests, sanity floors)
    openclip:ARCH@/path/weights     weights from a file (what open_clip.load_checkpoint reads: .bin, .pt,
                                    .pth, .safetensors), open_clip's default preprocessing
    openclip:ARCH/PRETRAINED@FILE   the file holds that tag's weights: the tag's preprocessing is used

The classifier is the standard zero-shot ImageNet head (Radford et al., 2021): every one of the 1000
ImageNet class names (``open_clip.IMAGENET_CLASSNAMES``, in 1k-index order, the order of robench's
labels) is written into each of the 80 prompt templates (``open_clip.OPENAI_IMAGENET_TEMPLATES``), the
text tower embeds the 80 prompts, each embedding is normalised, the 80 are averaged and the mean is
normalised again (``open_clip.build_zero_shot_classifier``). The module robench evaluates is the image
tower plus that fixed head: logits = 100 x the cosine similarity between the normalised image embedding
and each class's weights, 1000-way. The text tower is used once, to build the head, and then dropped.

Preprocessing is the model's own (open_clip's ``preprocess_cfg`` of the architecture and tag): its
mean/std, image size and interpolation; open_clip's eval resize modes map to robench's data config
exactly (``shortest``: resize the short side to the size and center-crop, crop_pct 1.0; ``squash``:
resize both sides; ``longest``: fit the long side and pad, which timm pads with the mean colour where
open_clip pads with ``fill_color``). CLIP models with the same preprocessing share one decode.

Records say what the head was made of (in ``model.source_info``): the
source, open_clip's version, the architecture and tag, the weights file, the template set and the
class-name set with sha256 digests of their text, and the logit scale.
"""
import contextlib
import hashlib
import logging
import os
import warnings

import torch
import torch.nn.functional as F

from robench.errors import ModelSpecError
from robench.fileio import sha256_file
from robench.models.sources import Built, ModelSource
from robench.registry import close_names

SOURCE = "openclip"
LOGIT_SCALE = 100.0
TEMPLATE_SET = "open_clip.zero_shot_metadata.OPENAI_IMAGENET_TEMPLATES"
CLASS_NAME_SET = "open_clip.zero_shot_metadata.IMAGENET_CLASSNAMES"
CROP_MODES = {"shortest": "center", "squash": "squash", "longest": "border"}
ACTIVATION_BUDGET = 128 * 2 ** 20  # bytes of one text-tower activation: sets the classes per forward pass


def _open_clip():
    try:
        import open_clip
    except ImportError as e:
        raise ModelSpecError(f"openclip: models need the open_clip package ({e}); install it with "
                             "pip install 'robench[openclip]' (or pip install open_clip_torch)") from None
    return open_clip


def pretrained_specs(pattern="*"):
    """``openclip:ARCH/PRETRAINED`` specs of open_clip's pretrained tags whose ARCH/PRETRAINED matches
    ``pattern`` (wildcards); listing reads open_clip's table, it downloads nothing."""
    import fnmatch

    names = [f"{arch}/{tag}" for arch, tag in _open_clip().list_pretrained()]
    return [f"openclip:{name}" for name in sorted(set(fnmatch.filter(names, pattern)))]


class ZeroShotCLIP(torch.nn.Module):
    """An open_clip image tower with a fixed zero-shot head: (N, 3, H, W) -> (N, 1000) logits."""

    num_classes = 1000

    def __init__(self, visual, classifier, logit_scale=LOGIT_SCALE):
        super().__init__()
        self.visual = visual
        self.register_buffer("classifier", classifier)  # (embed_dim, 1000), unit columns
        self.logit_scale = float(logit_scale)

    def forward(self, x):
        features = self.visual(x)
        if isinstance(features, (tuple, list)):  # towers that also return their tokens (CoCa)
            features = features[0]
        features = F.normalize(features, dim=-1)
        return self.logit_scale * features @ self.classifier.to(features.dtype)


def zero_shot_classifier(model, tokenizer, classnames=None, templates=None, device=None):
    """(embed_dim, n_classes) weights: per class, the normalised mean of the normalised text embeddings
    of its name under every template (open_clip.build_zero_shot_classifier), on the CPU in float32.
    Built on the GPU when there is one (80,000 prompts through the text tower), else on the CPU."""
    open_clip = _open_clip()
    classnames = list(open_clip.IMAGENET_CLASSNAMES if classnames is None else classnames)
    templates = list(open_clip.OPENAI_IMAGENET_TEMPLATES if templates is None else templates)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model.eval()
    home = next(model.parameters()).device
    model.to(device)
    try:
        with torch.no_grad():
            weights = open_clip.build_zero_shot_classifier(model, tokenizer, classnames, templates,
                                                           num_classes_per_batch=_classes_per_batch(model, templates),
                                                           device=device)
    finally:
        model.to(home)
    return weights.detach().float().cpu().contiguous()


def _classes_per_batch(model, templates):
    """Classes per text-tower pass: open_clip's 10 (800 prompts) for real towers, up to 100 for tiny ones,
    whose passes are all overhead; one activation (prompts x context x width floats) stays in budget."""
    context = getattr(model, "context_length", None)
    embedding = getattr(model, "token_embedding", None)
    width = getattr(embedding, "embedding_dim", None)
    if not isinstance(context, int) or not isinstance(width, int):
        return 10
    return max(10, min(100, ACTIVATION_BUDGET // (len(templates) * context * width * 4)))


def describe_head(open_clip):
    """What the zero-shot head is made of, for the record."""
    names = list(open_clip.IMAGENET_CLASSNAMES)
    templates = [t.format("{}") if isinstance(t, str) else t("{}") for t in open_clip.OPENAI_IMAGENET_TEMPLATES]
    return {
        "classifier": "zero-shot: per class, the normalised mean of the normalised text embeddings of its "
                      "name under every template; logits = 100 x cosine(normalised image embedding, class weights)",
        "class_names": CLASS_NAME_SET, "n_classes": len(names), "class_names_sha256": _sha256_lines(names),
        "templates": TEMPLATE_SET, "n_templates": len(templates), "templates_sha256": _sha256_lines(templates),
        "logit_scale": LOGIT_SCALE,
    }


def data_config(preprocess):
    """robench's (timm-style) data config for open_clip's eval preprocessing ``preprocess``."""
    size = preprocess.get("size", 224)
    height, width = (size, size) if isinstance(size, int) else tuple(size)[-2:]
    mode = preprocess.get("resize_mode") or "shortest"
    if mode not in CROP_MODES:
        raise ModelSpecError(f"open_clip resize_mode '{mode}' has no robench equivalent (known: "
                             f"{', '.join(CROP_MODES)})")
    interpolation = "bilinear" if preprocess.get("interpolation") == "bilinear" else "bicubic"  # 'random': bicubic
    return {"input_size": (3, int(height), int(width)), "crop_pct": 1.0, "crop_mode": CROP_MODES[mode],
            "interpolation": interpolation, "mean": _triple(preprocess.get("mean")),
            "std": _triple(preprocess.get("std"))}


def build(parsed):
    """The ``openclip`` model source: the ZeroShotCLIP module, its data config, the sha256 of an
    ``@file`` of weights and what the head was made of (``source_info``)."""
    open_clip = _open_clip()
    arch, tag = _arch_and_tag(open_clip, parsed)
    tag_cfg = open_clip.get_pretrained_cfg(arch, tag) if tag else {}
    weights_file, sha = None, None
    if parsed.weights is None:
        weights_file = _local_pretrained_file(open_clip, arch, tag, tag_cfg)
    elif parsed.weights != "random":
        weights_file = parsed.weights
        if not os.path.isfile(weights_file):
            raise ModelSpecError(f"weights file {weights_file} does not exist (spec '{parsed.text}')")
        sha = sha256_file(weights_file)
    quick_gelu = bool(tag_cfg.get("quick_gelu", False))
    if tag and quick_gelu != bool(open_clip.get_model_config(arch).get("quick_gelu", False)):
        warnings.warn(f"open_clip tag '{tag}' was trained with quick_gelu={quick_gelu} and architecture '{arch}' "
                      "uses the other activation (open_clip builds it so too); the '-quickgelu' variant of the "
                      "architecture matches the weights", UserWarning)
    with _offline(), _quiet():
        try:
            model = open_clip.create_model(arch, pretrained=None, pretrained_image=False, pretrained_text=False)
            tokenizer = open_clip.get_tokenizer(arch)
        except (ImportError, OSError) as e:
            raise ModelSpecError(f"cannot build open_clip model '{arch}' from local files only: "
                                 f"{type(e).__name__}: {e}") from None
        if weights_file:
            try:
                open_clip.load_checkpoint(model, weights_file)
            except Exception as e:  # key or shape mismatches, unreadable files: one clear line
                why = (str(e).strip().splitlines() or [""])[-1]
                raise ModelSpecError(f"weights {weights_file} do not fit open_clip model '{arch}': "
                                     f"{type(e).__name__}: {why}") from None
    model.eval()
    preprocess = model_preprocess(open_clip, model, tag_cfg)
    config = data_config(preprocess)
    head = describe_head(open_clip)
    classifier = _head(model, tokenizer, arch, sha or (sha256_file(weights_file) if weights_file else None),
                       head, getattr(open_clip, "__version__", None), parsed.text)
    module = ZeroShotCLIP(model.visual, classifier)
    info = {"source": SOURCE, "open_clip_version": getattr(open_clip, "__version__", None), "architecture": arch,
            "pretrained": tag, "weights_file": weights_file, "zero_shot": head,
            "open_clip_preprocess": {k: (list(v) if isinstance(v, tuple) else v) for k, v in preprocess.items()}}
    if config["crop_mode"] == "border":
        info["preprocess_note"] = ("open_clip resize_mode 'longest' evaluated as timm crop_mode 'border': the "
                                   "padding is the mean colour, not open_clip's fill_color")
    return Built(module, config, weights_sha256=sha, source_info=info)


MODEL_SOURCE = ModelSource(build, list_names=pretrained_specs)


def _head(model, tokenizer, arch, weights_sha256, head, version, label):
    """The zero-shot head: from the disk cache when these weights' head was built before
    (``zero_shot_cache``); random weights are built every time."""
    build = lambda: zero_shot_classifier(model, tokenizer)  # noqa: E731
    if weights_sha256 is None:
        return build()
    from robench.models.zero_shot_cache import cached_head, head_key

    return cached_head(head_key(arch, weights_sha256, head, version), build, head["n_classes"], label)


def model_preprocess(open_clip, model, tag_cfg=None):
    """open_clip's eval preprocessing of ``model`` with pretrained tag config ``tag_cfg``, merged as
    open_clip.create_model merges them: defaults, then the tag's, the size always the image tower's."""
    preprocess = dict(open_clip.get_model_preprocess_cfg(model))
    preprocess.update({k: v for k, v in (tag_cfg or {}).items()
                       if k in ("mean", "std", "interpolation", "resize_mode", "fill_color")})
    return preprocess


def _arch_and_tag(open_clip, parsed):
    target = parsed.target.strip()
    if target.startswith(("hf-hub:", "local-dir:")):
        raise ModelSpecError(f"spec '{parsed.text}': openclip: takes ARCH/PRETRAINED, ARCH@/path/weights or "
                             "ARCH@random (hub and folder names are not read: robench never downloads)")
    arch, _, tag = target.partition("/")
    known = open_clip.list_models()
    if arch not in known:
        raise ModelSpecError(f"unknown open_clip architecture '{arch}' in spec '{parsed.text}'."
                             f"{close_names(arch, known)} (python -c \"import open_clip; "
                             "print(open_clip.list_models())\" lists them)")
    tags = open_clip.list_pretrained_tags_by_model(arch)
    if tag and not open_clip.get_pretrained_cfg(arch, tag):
        raise ModelSpecError(f"open_clip has no pretrained tag '{tag}' for '{arch}' (spec '{parsed.text}')."
                             f"{close_names(tag, tags)} Tags of {arch}: {', '.join(tags) or 'none'}")
    if not tag and parsed.weights is None:
        raise ModelSpecError(f"spec '{parsed.text}' names no weights: use openclip:{arch}/TAG (tags of {arch}: "
                             f"{', '.join(tags) or 'none'}), openclip:{arch}@/path/weights or openclip:{arch}@random")
    return arch, tag or None


def _local_pretrained_file(open_clip, arch, tag, cfg):
    """The tag's weights in the local HF hub cache (or open_clip's URL cache), or a ModelSpecError."""
    looked = []
    hub = cfg.get("hf_hub") or ""
    if hub:
        from huggingface_hub import try_to_load_from_cache

        model_id, filename = os.path.split(hub)
        filename = filename or "open_clip_pytorch_model.bin"
        for name in (*_safetensors_names(filename), filename):
            found = try_to_load_from_cache(model_id, name)
            if isinstance(found, str) and os.path.isfile(found):
                return found
            looked.append(f"{model_id}/{name} in the Hugging Face cache")
    if cfg.get("url"):
        path = os.path.join(os.path.expanduser("~/.cache/clip"), os.path.basename(cfg["url"]))
        if os.path.isfile(path):
            return path
        looked.append(path)
    raise ModelSpecError(
        f"no local weights for open_clip model '{arch}' pretrained '{tag}' (robench never downloads; looked for "
        f"{'; '.join(looked) or 'nothing: the tag names no file'}). Fetch them once with network access and "
        f"HF_HUB_OFFLINE unset: python -c \"import open_clip; open_clip.create_model('{arch}', "
        f"pretrained='{tag}')\", or use 'openclip:{arch}/{tag}@/path/to/weights' or 'openclip:{arch}@random'")


def _safetensors_names(filename):
    """The safetensors files open_clip prefers to ``filename`` on the hub."""
    if filename == "open_clip_pytorch_model.bin":
        return ("open_clip_model.safetensors",)
    if filename.endswith((".bin", ".pth")):
        return (filename[:-4] + ".safetensors",)
    return ()


@contextlib.contextmanager
def _offline():
    """No hub access while building (tokenizer or text-tower files must already be cached)."""
    try:
        from huggingface_hub import constants
    except ImportError:
        yield
        return
    before_env, before = os.environ.get("HF_HUB_OFFLINE"), constants.HF_HUB_OFFLINE
    os.environ["HF_HUB_OFFLINE"], constants.HF_HUB_OFFLINE = "1", True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = before
        if before_env is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = before_env


@contextlib.contextmanager
def _quiet():
    """open_clip logs 'initialized randomly' and the like at WARNING on the root logger: not for users."""
    logger = logging.getLogger()
    quiet = _DropOpenClipRecords()
    logger.addFilter(quiet)
    for handler in logger.handlers:
        handler.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)
        for handler in logger.handlers:
            handler.removeFilter(quiet)


class _DropOpenClipRecords(logging.Filter):
    def filter(self, record):
        return not (record.pathname and f"{os.sep}open_clip{os.sep}" in record.pathname
                    and record.levelno < logging.ERROR)


def _triple(values):
    values = tuple(float(v) for v in (values if isinstance(values, (list, tuple)) else (values,) * 3))
    return values if len(values) == 3 else values[:1] * 3


def _sha256_lines(lines):
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
