"""Writing files so that a kill never leaves half of one, and hashing them in chunks.

Every output robench writes (records, slice results, progress files, manifests, leaderboard pages, plots,
predictions, training checkpoints) goes through ``atomic_write``: a temp file beside the target,
flushed and fsynced, then renamed over it, so the path holds either the old file or the whole new
one. Files are made readable by others (mkstemp makes them private), like any other output.
"""
import errno
import hashlib
import json
import os
import tempfile

from robench.errors import RobenchError

_NO_SPACE = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EROFS)


class OutputError(RobenchError):
    """An output folder that cannot be written (read-only, a file, full)."""


def check_out_dir(path):
    """Makes ``path`` if needed and proves it writable, before any work: an output folder that is a
    file, read-only or on a full disk is one line now, not a traceback after an hour of evaluation."""
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise OutputError(f"--out {path} is a file, not a folder; give a folder for the records")
    try:
        os.makedirs(path, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".robench-write-test-", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise OutputError(f"--out {path} cannot be written ({e.strerror}); choose a writable folder") from None
    return path


def atomic_write(path, write, binary=False, suffix=".tmp"):
    """Calls ``write(file)`` on a temp file beside ``path``, then renames it over ``path``."""

    def save(tmp):
        with open(tmp, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as f:
            write(f)

    atomic_write_with(path, save, suffix)


def _output_error(path, error):
    """A full or read-only disk mid-run: one line saying what is kept and how to go on."""
    return OutputError(f"cannot write {path} ({error.strerror}); everything written before it is kept (finished "
                       "slice results resume): free space or fix the folder, then rerun the same command")


def atomic_write_json(path, obj):
    """``obj`` as JSON; NaN and infinity are refused, never written."""

    def write(f):
        json.dump(obj, f, indent=1, sort_keys=False, allow_nan=False)
        f.write("\n")

    atomic_write(path, write, suffix=".json")


def atomic_write_text(path, text):
    atomic_write(path, lambda f: f.write(text), suffix=".txt")


def atomic_write_with(path, save, suffix=".tmp"):
    """For writers that want a file name (pyarrow, matplotlib, torch.save): ``save(tmp_path)``."""
    path = os.fspath(path)
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=directory)
    except OSError as e:
        raise _output_error(path, e) from None
    os.close(fd)
    try:
        save(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError) and e.errno in _NO_SPACE:
            raise _output_error(path, e) from None
        raise


def sha256_file(path, chunk=1 << 20):
    """Hex sha256 of a file, read in chunks (checkpoints and shards are large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()
