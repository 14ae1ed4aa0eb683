"""Reading published webdataset tar shards sample by sample, and indexing them once.

A webdataset sample is the run of tar members that share a key: the member's path up to the first dot
of its file name (``s0000012.webp`` + ``s0000012.cls``; ``train/x.jpg`` has the key ``train/x``). The
image is the member whose extension is an image type; its label is the ``.cls`` member (decimal text);
others (``.json``, ``.txt``) are ignored. A shard that ends inside a member is an error naming it and how
many samples it gave before.

Sets that publish no per-shard lengths (CLIP_benchmark's ``nshards.txt`` sets, brace-expanded URL lists)
are indexed once: one sequential read of each shard records its keys, labels and image types. The
index is cached in ``$ROBENCH_CACHE_DIR/wds-index/`` (default ``~/.cache/robench``; ``off`` turns it
off), keyed by the shard's path, size and modification time, so the next scan, every torchrun rank
and every job-array task read the counts instead of the shards. A remote shard (``pipe:``, ``http://``)
is keyed by its URL alone: it is assumed not to change under the same URL.
"""
import os
import tarfile

from robench.errors import DatasetLayoutError

IMAGE_TYPES = ("jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff", "ppm", "gif")
INDEX_VERSION = 1


def is_remote(url):
    return url.startswith("pipe:") or "://" in url


def split_name(path):
    """(key, extension in lower case) of a tar member's path, as webdataset splits it."""
    folder, _, name = path.rpartition("/")
    stem, _, ext = name.partition(".")
    return (f"{folder}/{stem}" if folder else stem), ext.lower()


def samples(url):
    """(key, image type, image bytes, .cls text) per sample of the shard ``url``, in order."""
    from webdataset import gopen

    count = 0
    try:
        stream = gopen(url, "rb")
    except FileNotFoundError as e:
        raise DatasetLayoutError(f"shard {url} is missing ({e.strerror})") from None
    except OSError as e:
        raise DatasetLayoutError(f"shard {url} cannot be opened ({e})") from None
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as tar:
            key, sample = None, {}
            for member in tar:
                if not member.isfile():
                    continue
                k, ext = split_name(member.name)
                if k != key:
                    if key is not None:
                        count += 1
                        yield _complete(url, key, sample)
                    key, sample = k, {}
                if ext == "cls":
                    sample["cls"] = tar.extractfile(member).read()
                elif ext in IMAGE_TYPES and "image" not in sample:
                    sample["image"], sample["type"] = tar.extractfile(member).read(), ext
            if key is not None:
                count += 1
                yield _complete(url, key, sample)
    except (tarfile.TarError, EOFError) as e:
        raise DatasetLayoutError(f"shard {url} is damaged or truncated after {count} samples ({e})") from None
    except OSError as e:
        raise DatasetLayoutError(f"shard {url} could not be read after {count} samples ({e})") from None
    finally:
        stream.close()


def _complete(url, key, sample):
    if "image" not in sample or "cls" not in sample:
        lacks = "an image" if "image" not in sample else "a .cls label"
        raise DatasetLayoutError(f"shard {url}: sample '{key}' lacks {lacks} (expected <key>.jpg/.webp/.png and "
                                 "<key>.cls)")
    return key, sample["type"], sample["image"], sample["cls"]


def parse_cls(url, key, raw):
    try:
        return int(raw.decode().strip())
    except (UnicodeDecodeError, ValueError):
        raise DatasetLayoutError(f"shard {url}: sample '{key}' has a .cls that is not an integer") from None


def identity(url):
    """What the cached index of ``url`` is keyed by: its path, size and mtime (its URL when remote)."""
    if is_remote(url):
        return [url]
    st = os.stat(url)
    return [os.path.abspath(url), st.st_size, st.st_mtime_ns]


def shard_index(url):
    """{"keys": [...], "cls": [...], "types": [...]} of the shard ``url``: read once, then cached."""
    try:
        ident = identity(url)
    except FileNotFoundError:
        raise DatasetLayoutError(f"shard {url} is missing") from None
    from robench.cache import cached_index

    return cached_index("wds-index", ident, INDEX_VERSION, lambda: _build(url), _valid)


def _build(url):
    keys, labels, types = [], [], set()
    for key, kind, _, raw in samples(url):
        keys.append(key)
        labels.append(parse_cls(url, key, raw))
        types.add(kind)
    return {"keys": keys, "cls": labels, "types": sorted(types)}


def _valid(index):
    return (isinstance(index.get("keys"), list) and isinstance(index.get("cls"), list)
            and len(index["keys"]) == len(index["cls"]))
