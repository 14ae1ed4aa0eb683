"""Materialising ``imagenet-c-gen``: the same pixels, written in the released ImageNet-C layout.

``robench data corrupt VAL OUT`` writes ``OUT/<corruption>/<severity>/<wnid>/<name>.JPEG``: for each
val image, the clean 224 px crop is made once and every selected cell is corrupted from it with the
seed rule of ``robench.datasets.imagenet_c_gen`` and saved as the release was (PIL JPEG, quality 85,
optimize), so the files hold exactly the bytes that ``-s imagenet-c-gen -r VAL`` feeds the model, and
``-s imagenet-c -r OUT`` gives the same metrics. ``--lossless`` writes ``<name>.png`` instead (the
pixels before the JPEG step; ``-s imagenet-c-gen --select lossless`` on the fly): the marker says so, and
records of such a folder carry the departure. The marker (``robench-generated.json``, size 224) makes
the records say ``data_origin: generated``.

Resumable: every file is written under a temporary name beside it and renamed when complete
(``robench.fileio.atomic_write_with``), so a file that exists is whole; a rerun skips those and removes
the temporaries a killed run left. The marker, written first, records the generator, the recipe and
the val images' fingerprint, the encoding and the version of every library that touches the pixels: a
rerun with another generator, library version, encoding or other val images stops instead of mixing two
data sets in one folder.
"""
import os

from robench.datasets.base import GENERATED_MARKER, generated_info, write_generated_marker
from robench.errors import DatasetLayoutError, RobenchError

_STATE = {}  # per worker process: the val folder source


EXTENSIONS = {"jpeg": ".JPEG", "lossless": ".png"}  # the release's name for its JPEGs; PNG when lossless


def output_name(key, encoding="jpeg"):
    """``<wnid>/<name>.JPEG`` -> ``<wnid>/<name>.JPEG`` (or ``.png`` when lossless): the val file's stem."""
    return os.path.splitext(key)[0] + EXTENSIONS[encoding]


def _marker_details(val, generator, root, encoding):
    from robench.datasets import imagenet_c_gen as G
    from robench.datasets.corruptions import libraries

    return {"generator": f"robench data corrupt with {generator}", "corruption_generator": generator,
            "recipe": G.RECIPE, "preprocessing": G.PREPROCESSING, "seed_rule": G.SEED_RULE,
            "libraries": dict(libraries()), "encoding": encoding, "encoding_detail": G.ENCODINGS[encoding],
            "size": G.CROP, "source": os.path.abspath(root), "source_fingerprint": val.content_id()}


def _check_marker(out, details):
    """An OUT made by another generator, recipe or from other val images is not resumed: its files differ."""
    info = generated_info(out) if os.path.isdir(out) else None
    if info is None:
        if os.path.isdir(out) and any(not n.startswith(".") for n in os.listdir(out)):
            command = details["generator"].split(" with ")[0]  # robench data corrupt / robench data c-bar
            raise RobenchError(f"{out} is not empty and was not made by {command} (no {GENERATED_MARKER}); "
                               "choose an empty or new folder")
        return
    for key in ("corruption_generator", "recipe", "source_fingerprint", "libraries", "encoding"):
        if info.get(key) != details[key]:
            raise RobenchError(f"{out} was made with {key} {info.get(key)!r}, this run would use {details[key]!r}: "
                               "its files would mix two data sets; choose another folder (or delete this one)")


def _existing(out, cells, wnids, extension):
    """{(corruption, severity): set of relative paths already written}; stale temporaries are removed."""
    done = {}
    for c, s in cells:
        have = done[(c, s)] = set()
        for wnid in wnids:
            folder = os.path.join(out, c, str(s), wnid)
            if not os.path.isdir(folder):
                continue
            for entry in os.scandir(folder):
                if entry.name.startswith(".tmp-") and entry.name.endswith(extension):
                    os.unlink(entry.path)  # left by a killed run: never whole
                elif entry.name.endswith(extension):
                    have.add(f"{wnid}/{entry.name}")
    return done


def _init_worker(folder):
    """Per-process set-up. OpenCV's thread pool is left alone: a forked child that touches the pool a
    parent thread was using waits on its lock forever (seen with cv2.setNumThreads in the child)."""
    _STATE["folder"] = folder


def _work(out, todo, encoding="jpeg"):
    """Writes the ``imagenet-c-gen`` cells of ``todo``; returns files written (runs in the workers)."""
    from robench.datasets.imagenet_c_gen import corrupt_pixels

    return write_cells(out, todo, encoding, corrupt_pixels, lambda corruption, severity: str(severity))


def write_cells(out, todo, encoding, pixels, cell_folder):
    """The work of one block, shared by ``data corrupt`` and ``data c-bar``: for each (val index, [(corruption,
    severity), ...]) of ``todo`` the clean crop is made once, then ``pixels(clean, key, corruption, severity)``
    is encoded (JPEG q85 or PNG) and written whole (temporary name, then rename) to
    ``out/<corruption>/<cell_folder(corruption, severity)>/<wnid>/<name>``; returns files written. The val
    folder is this process's (``_init_worker``)."""
    from robench.datasets.imagenet_c_gen import clean_crop, encode
    from robench.fileio import atomic_write_with

    folder = _STATE["folder"]
    written = 0
    for index, cells in todo:
        try:
            key, data, _ = folder.read(index)
            clean = clean_crop(data)
        except Exception as e:
            key = folder.entries[index][0]
            raise RobenchError(f"cannot read or decode {folder.locate(key)} ({type(e).__name__}: {e}); "
                               "remove or replace it and rerun (finished files are kept)") from None
        name = output_name(key, encoding)
        for c, s in cells:
            data = encode(pixels(clean, key, c, s), "JPEG" if encoding == "jpeg" else "PNG")

            def save(tmp, data=data):
                with open(tmp, "wb") as f:
                    f.write(data)

            atomic_write_with(os.path.join(out, c, cell_folder(c, s), *name.split("/")), save,
                              suffix=EXTENSIONS[encoding])
            written += 1
    return written


def write_missing(out, folder, names, cells, done, encoding, work, workers=0, block=8, progress=False, desc=""):
    """Every (image, cell) not in ``done`` ({cell: names on disk}), written by ``work(out, block, encoding)``
    in blocks of images (in this process, or in ``workers`` processes); returns (files written, files already
    there)."""
    from tqdm import tqdm

    todo, already = [], 0
    for index, name in enumerate(names):
        missing = [cell for cell in cells if name not in done[cell]]
        already += len(cells) - len(missing)
        if missing:
            todo.append((index, missing))
    if workers > 1:  # at least a few blocks per process (each block: its images x all their missing cells)
        block = max(1, min(block, -(-len(todo) // (4 * workers))))
    blocks = [todo[i:i + block] for i in range(0, len(todo), block)]
    bar = tqdm(total=len(names) * len(cells), initial=already, unit="img", disable=not progress,
               dynamic_ncols=True, desc=desc)
    written = 0
    try:
        if workers <= 1 or len(blocks) <= 1:
            _init_worker(folder)
            for part in blocks:
                n = work(out, part, encoding)
                written += n
                bar.update(n)
        else:
            written = _in_processes(out, folder, blocks, workers, bar, encoding, work)
    finally:
        bar.close()
        _STATE.clear()
    return written, already


def materialise(root, out, select=None, workers=0, progress=False, block=8, lossless=False):
    """Writes the ``imagenet-c-gen`` cells of the val images under ``root`` (``--select`` as for eval)
    to ``out`` in the ImageNet-C layout, as JPEG q85 (or lossless PNG); returns (files written, files
    already there)."""
    from robench.datasets import shards
    from robench.datasets.imagenet_c_gen import ImageNetCGenSuite

    root, out = os.fspath(root), os.fspath(out)
    if shards.is_shard_root(root):
        raise DatasetLayoutError(f"{root} is a shard set; robench data corrupt reads ImageNet val folders "
                                 "(val/<wnid>/*.JPEG)")
    from robench.datasets.imagenet_c_gen import split_encoding

    asked, select = split_encoding(select)  # --select lossless means --lossless here too
    lossless = lossless or asked == "lossless"
    suite = ImageNetCGenSuite()
    variants = suite.variants(root, select)
    val = variants[0].source.val
    folder = val.folder
    cells = [(v.info["corruption"], v.info["severity"]) for v in variants]
    encoding = "lossless" if lossless else "jpeg"
    names = [output_name(key, encoding) for key, _ in folder.entries]
    seen, clashes = {}, []
    for (key, _), name in zip(folder.entries, names):
        if name in seen:
            clashes.append(f"{seen[name]} and {key}")
        seen.setdefault(name, key)
    if clashes:
        raise DatasetLayoutError(f"{root}: val files whose names differ only by their extension would be written "
                                 f"to one file ({'; '.join(clashes[:5])}); rename them")
    details = _marker_details(val, variants[0].source.generator, root, encoding)
    _check_marker(out, details)
    os.makedirs(out, exist_ok=True)
    write_generated_marker(out, **details)

    done = _existing(out, cells, sorted({n.split("/")[0] for n in names}), EXTENSIONS[encoding])
    return write_missing(out, folder, names, cells, done, encoding, _work, workers, block, progress, "corrupting")


def _in_processes(out, folder, blocks, workers, bar, encoding, work=None):
    """``work(out, block, encoding)`` (default ``_work``; ``robench data c-bar`` passes its own) over the
    blocks in worker processes; returns the files written."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    work = work or _work
    written = 0
    # Every module the workers import is imported here first: a forked child that imports while another
    # thread of the parent held the import lock at fork time waits for it forever.
    from robench.datasets import imagenet_c_gen  # noqa: F401
    from robench.fileio import atomic_write_with  # noqa: F401

    # forkserver: workers fork from a clean single-threaded server, not from this process, whose threads
    # (OpenCV's, torch's, a caller's) may hold locks at fork time (a forked worker hung on one)
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else None)
    with ProcessPoolExecutor(max_workers=min(workers, len(blocks)), mp_context=context,
                             initializer=_init_worker, initargs=(folder,)) as pool:
        pending = {pool.submit(work, out, part, encoding) for part in blocks[:4 * workers]}
        queued = iter(blocks[4 * workers:])
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    n = future.result()
                    written += n
                    bar.update(n)
                    part = next(queued, None)
                    if part is not None:
                        pending.add(pool.submit(work, out, part, encoding))
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    return written
