"""A disk cache of zero-shot heads, so a CLIP model's 80 x 1000 prompts go through its text tower once.

Building the head is the expensive part of loading an ``openclip:`` model: 80,000 prompts through
the text tower, about a minute on a GPU and hours on a few CPU cores for a ViT-B text tower, while the
image tower evaluates a suite in minutes. Every ``robench eval`` of the same model (another suite,
another day, another job-array task) needs the same head, so it is kept on disk, keyed by what
decides it: the architecture, the sha256 of the weights file, the class names and templates (their
sha256), the logit scale and open_clip's version. Heads of random weights are never cached.

Where: ``$ROBENCH_CACHE_DIR/zero-shot/`` (default ``~/.cache/robench``); ``ROBENCH_CACHE_DIR=off``
turns the cache off. A cached head is checked before it is used (its key, shape, finite unit-norm
columns); one that is not what it claims is rebuilt and replaced, with one line saying so. Writes are
atomic, so a killed run leaves no half-written head.
"""
import hashlib
import json
import os
import sys
import time

from robench.fileio import OutputError, atomic_write_with


def cache_dir():
    """The zero-shot head cache's folder, or None when ROBENCH_CACHE_DIR turns it off."""
    from robench.cache import cache_folder

    return cache_folder("zero-shot")


def head_key(architecture, weights_sha256, head, open_clip_version):
    """sha256 of everything that decides a head (``head``: openclip_source.describe_head's dict)."""
    what = {"architecture": architecture, "weights_sha256": weights_sha256, "open_clip": open_clip_version,
            **{k: head[k] for k in ("class_names_sha256", "templates_sha256", "n_classes", "n_templates",
                                    "logit_scale")}}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


def cached_head(key, build, n_classes, label):
    """The head cached under ``key``, else ``build()``'s, cached; ``label`` names the model in messages."""
    folder = cache_dir()
    if folder is None:
        return build()
    path = os.path.join(folder, f"{key}.pt")
    if os.path.exists(path):
        head, problem = _read(path, key, n_classes)
        if head is not None:
            _say(f"zero-shot head of {label} read from the cache ({path})")
            return head
        _say(f"the cached zero-shot head {path} is not usable ({problem}); building it again")
    start = time.perf_counter()
    head = build()
    seconds = time.perf_counter() - start
    try:
        atomic_write_with(path, lambda tmp: _write(tmp, key, head), suffix=".pt")
        _say(f"zero-shot head of {label} built in {seconds:.1f} s and cached ({path})")
    except (OSError, OutputError) as e:  # a read-only or full cache costs the next run the build, not this run
        _say(f"zero-shot head of {label} built in {seconds:.1f} s; not cached ({e})")
    return head


def _write(tmp, key, head):
    import torch

    torch.save({"key": key, "classifier": head}, tmp)


def _read(path, key, n_classes):
    """(head, None) when the file holds a valid head for ``key``, else (None, why not)."""
    import torch

    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated, not a torch file, unpicklable: the file is not a head
        return None, f"unreadable: {type(e).__name__}"
    if not isinstance(saved, dict) or saved.get("key") != key:
        return None, "it was written for another model or head"
    head = saved.get("classifier")
    if not isinstance(head, torch.Tensor) or head.dim() != 2 or head.shape[1] != n_classes \
            or head.dtype != torch.float32:
        return None, f"not a float32 (embedding, {n_classes}) matrix"
    if not torch.isfinite(head).all() or not torch.allclose(head.norm(dim=0), torch.ones(n_classes), atol=1e-3):
        return None, "its columns are not finite unit vectors"
    return head.contiguous(), None


def _say(line):
    print(f"robench: note: {line}", file=sys.stderr)
