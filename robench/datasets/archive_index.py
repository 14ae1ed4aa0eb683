"""Random access into released archives (uncompressed tar, zip) without extracting them.

ImageNet-C ships as five tars of 7-21 GB (3.75M files once extracted), ImageNet-R/-A as one tar each,
ImageNet-Sketch as a zip. Extracting them costs hours and millions of inodes before the first number;
reading them in place needs only where each member's bytes are:

- a gzip'd tar (ImageNet-3DCC's ``<corruption>.tar.gz``) is inflated once into the cache as a plain tar
  (``inflated_tar``: gzip has no random access), then read as one;
- a tar is indexed once, with one sequential pass over its headers (the data between them is skipped,
  not read): member name, data offset, size and modification time. The index is cached in
  ``$ROBENCH_CACHE_DIR/archive-index/`` (``robench.cache``), keyed by the archive's absolute path, size
  and modification time, so the next scan, every torchrun rank and every job-array task read the index
  instead of the archive.
- a zip's index is its central directory (zipfile reads it from the end of the file); members stored or
  deflated are read and inflated here, with their CRC checked. Members encrypted with ZipCrypto (ObjectNet's
  zip) are decrypted here with the password's keys (``robench.datasets.zipcrypto``: compiled, bit-identical
  to zipfile's decrypter); the password is checked against member headers when the zip is opened.

Members are then read with ``os.pread`` (no shared file position), through file descriptors opened
once per process: DataLoader workers fork, and a child must not use its parent's descriptors.

A truncated archive is an error naming the archive and the member, never a shorter run: at index time
every member's data must lie inside the file (and a tar must end with its end-of-archive block); at
read time every member must give all its bytes.
"""
import os
import tarfile
import zipfile
import zlib

from robench.errors import DatasetLayoutError

INDEX_VERSION = 1
BLOCK = 512  # tar block; the end-of-archive marker is zero blocks
ZIP_LOCAL_HEADER = 30  # fixed part of a zip local file header
ZIP_STORED, ZIP_DEFLATED = 0, 8
CUT_SHORT_HINT = "the archive is truncated or was changed after robench indexed it; download it again"


class ProcessFiles:
    """File descriptors opened on first use and owned by one process: a forked DataLoader worker opens
    its own (``os.pread`` needs no shared position, but a descriptor closed by one process must not be
    another's). Pickling drops them."""

    def __init__(self):
        self._fds, self._pid = {}, None

    def fd(self, path, what):
        if self._pid != os.getpid():
            self._fds, self._pid = {}, os.getpid()
        fd = self._fds.get(path)
        if fd is None:
            try:
                fd = self._fds[path] = os.open(path, os.O_RDONLY)
            except OSError as e:
                raise DatasetLayoutError(f"{what} {path} cannot be opened ({e.strerror}); was it moved or "
                                         "deleted after the scan?") from None
        return fd

    def __getstate__(self):
        return {"_fds": {}, "_pid": None}


def file_identity(path):
    """[base name, size, mtime in ns]: what a fingerprint says about an archive or a label file (the base
    name, not the path, so a moved copy keeps its fingerprint as a moved folder does)."""
    st = os.stat(path)
    return [os.path.basename(path), st.st_size, st.st_mtime_ns]


class Archive:
    """Members of one archive file: ``names``, ``stats`` (per member, part of the fingerprint) and
    ``read(position)``. Subclasses: TarArchive, ZipArchive."""

    kind = ""

    def __init__(self, path, names, stats):
        self.path, self.names, self.stats = path, names, stats
        self.data_path = path  # the file read with pread (an inflated copy for a .tar.gz)
        self._files = ProcessFiles()
        self._identity = file_identity(path)

    def identity(self):
        return list(self._identity)

    def locate(self, name=""):
        return f"{self.path}:{name}" if name else self.path

    def _pread(self, position, size, offset):
        data = os.pread(self._files.fd(self.data_path, "archive"), size, offset)
        if len(data) != size:
            raise DatasetLayoutError(f"archive {self.path}: member {self.names[position]} is cut short ({len(data)} "
                                     f"of {size} bytes at byte {offset}): {CUT_SHORT_HINT}")
        return data


class TarArchive(Archive):
    """An uncompressed tar read in place; ``stats`` are (size, mtime) per member."""

    kind = "tar"

    def __init__(self, path, index):
        super().__init__(path, index["names"], list(zip(index["sizes"], index["mtimes"])))
        self.offsets = index["offsets"]

    def read(self, position):
        size, _ = self.stats[position]
        return self._pread(position, size, self.offsets[position])


class ZipArchive(Archive):
    """A zip read in place; ``stats`` are (uncompressed size, CRC-32) per member, so the fingerprint sees
    a member rewritten with the same size. ``keys``: the ZipCrypto keys of its password, for encrypted
    members (``robench.datasets.zipcrypto``); the password itself is not kept."""

    kind = "zip"

    def __init__(self, path, infos, keys=None):
        super().__init__(path, [i.filename for i in infos], [(i.file_size, i.CRC) for i in infos])
        self.infos, self.keys = infos, keys
        self.encryption = "zipcrypto" if keys is not None else None

    def _start(self, position):
        """Where the member's stored bytes begin (after its local header)."""
        info = self.infos[position]
        header = self._pread(position, ZIP_LOCAL_HEADER, info.header_offset)
        if header[:4] != b"PK\x03\x04":
            raise DatasetLayoutError(f"archive {self.path}: member {info.filename} has no local header where the "
                                     f"central directory says (byte {info.header_offset}): the zip is damaged")
        return info.header_offset + ZIP_LOCAL_HEADER + int.from_bytes(header[26:28], "little") \
            + int.from_bytes(header[28:30], "little")

    def _raw(self, position):
        """The member's stored bytes (with the 12-byte encryption header when it is encrypted)."""
        return self._pread(position, self.infos[position].compress_size, self._start(position))

    def _decrypted(self, position, raw):
        from robench.datasets.zipcrypto import HEADER, check_byte, decrypt

        info = self.infos[position]
        plain = decrypt(raw, self.keys)
        if len(plain) < HEADER or plain[HEADER - 1] != check_byte(info):
            raise DatasetLayoutError(f"archive {self.path}: the password is wrong (member {info.filename} fails "
                                     "zip's password check); give the zip's own password")
        return plain[HEADER:]

    def check_password(self, count=16):
        """Checks the password against the first ``count`` encrypted members' headers (each passes by chance
        1 time in 256): a wrong password is one line at scan time, not a failure in the middle of a run."""
        from robench.datasets.zipcrypto import HEADER

        checked = 0
        for position, info in enumerate(self.infos):
            if checked == count:
                break
            if info.flag_bits & 0x1 and info.compress_size >= HEADER:
                self._decrypted(position, self._head(position))
                checked += 1

    def _head(self, position):
        from robench.datasets.zipcrypto import HEADER

        return self._pread(position, HEADER, self._start(position))

    def read(self, position):
        info = self.infos[position]
        raw = self._raw(position)
        encrypted = bool(info.flag_bits & 0x1)
        if encrypted:
            raw = self._decrypted(position, raw)
        if info.compress_type == ZIP_STORED:
            data = raw
        else:
            try:
                inflater = zlib.decompressobj(-15)
                data = inflater.decompress(raw) + inflater.flush()
            except zlib.error as e:
                raise DatasetLayoutError(f"archive {self.path}: member {info.filename} does not inflate ({e}): "
                                         f"{CUT_SHORT_HINT}") from None
        if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
            hint = "the password is wrong, or " + CUT_SHORT_HINT if encrypted else CUT_SHORT_HINT
            raise DatasetLayoutError(f"archive {self.path}: member {info.filename} gives {len(data)} bytes whose "
                                     f"CRC-32 is not the central directory's: {hint}")
        return data


class InflatedTarArchive(TarArchive):
    """A gzip'd tar read through its one-time inflated copy (``inflated_tar``): members are read from the
    copy with pread; messages, the record and the fingerprint name the .tar.gz as downloaded."""

    kind = "tar.gz"

    def __init__(self, path, inflated, index):
        super().__init__(path, index)
        self.data_path = inflated


# --- zip: the central directory -------------------------------------------------------------------
def open_zip(path, password=None, password_hint=""):
    """A ZipArchive of the regular members of the zip ``path`` (directory entries left out). Encrypted
    members (ZipCrypto) need ``password``; without it the error says ``password_hint`` (how the suite
    takes a password) or, by default, to extract the zip."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            start_dir = zf.start_dir
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as e:
        raise DatasetLayoutError(f"{path} is not a readable zip ({e}): truncated, damaged or not a zip; "
                                 "download it again") from None
    encrypted = [i for i in infos if i.flag_bits & 0x1]
    if encrypted and password is None:
        what = password_hint or (f"robench reads zips without a password: extract it with its password (unzip -P "
                                 f"PASSWORD {os.path.basename(path)}) and point at the folder")
        raise DatasetLayoutError(f"{path} is password-protected (member {encrypted[0].filename} is encrypted); "
                                 f"{what}")
    for info in infos:
        if info.flag_bits & 0x40:  # strong encryption (PKWARE SES) or AES (method 99): not ZipCrypto
            raise DatasetLayoutError(f"{path}: member {info.filename} uses zip's strong encryption; robench "
                                     "decrypts ZipCrypto only: extract it with its password and point at the folder")
        if info.compress_type not in (ZIP_STORED, ZIP_DEFLATED):
            raise DatasetLayoutError(f"{path}: member {info.filename} uses zip compression method "
                                     f"{info.compress_type}; robench reads stored and deflated members: extract it "
                                     "and point at the folder")
        if info.header_offset + ZIP_LOCAL_HEADER + info.compress_size > start_dir:
            raise DatasetLayoutError(f"archive {path}: member {info.filename} runs past the start of the central "
                                     f"directory (byte {start_dir}): the zip is damaged; download it again")
    if not encrypted:
        return ZipArchive(path, infos)
    from robench.datasets.zipcrypto import initial_keys, warm

    archive = ZipArchive(path, infos, initial_keys(password))
    archive.check_password()
    warm()  # compiled in this process, before DataLoader workers fork
    return archive


# --- tar: one pass over the headers, cached --------------------------------------------------------
def open_tar(path):
    """A TarArchive of the regular members of the uncompressed tar ``path``, from its cached index."""
    return TarArchive(path, tar_index(path))


def open_tar_gz(path):
    """An InflatedTarArchive of the gzip'd tar ``path`` (ImageNet-3DCC's ``<corruption>.tar.gz``)."""
    inflated = inflated_tar(path)
    return InflatedTarArchive(path, inflated, tar_index(inflated))


def inflated_tar(path):
    """The uncompressed tar of ``path``, made once in ``$ROBENCH_CACHE_DIR/inflated-tar/`` and reused while the
    .tar.gz keeps its path, size and mtime.

    Why a copy: a gzip stream has no random access (a member's place in the inflated stream is known only by
    inflating everything before it), and robench reads slices by index, in ranks, tasks, workers and
    resumed runs. Streaming would inflate each cell's prefix again for every slice of it; one inflation
    (gzip's speed, about the time to read the file) makes the tar random access like the other released
    archives, with the same member index. It costs the uncompressed size in disk (a JPEG data set barely
    compresses: about the .tar.gz's size), a single file rather than the extraction's many inodes. Ranks
    and tasks that scan at once wait on a lock for the one that inflates."""
    import fcntl
    import gzip
    import hashlib
    import json
    import shutil
    import sys

    from robench.cache import cache_folder

    st = os.stat(path)
    folder = cache_folder("inflated-tar")
    if folder is None:
        raise DatasetLayoutError(f"{path}: reading a .tar.gz in place inflates it once into robench's cache, which "
                                 "ROBENCH_CACHE_DIR=off turns off; set ROBENCH_CACHE_DIR to a folder with room, or "
                                 "extract the archive")
    identity = [os.path.abspath(path), st.st_size, st.st_mtime_ns, INDEX_VERSION]
    digest = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:20]
    name = os.path.basename(path)
    target = os.path.join(folder, f"{name[:-len('.tar.gz')] if name.endswith('.tar.gz') else name}-{digest}.tar")
    if os.path.isfile(target):
        return target
    os.makedirs(folder, exist_ok=True)
    with open(target + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another rank or task may be inflating it now
        if os.path.isfile(target):
            return target
        free = shutil.disk_usage(folder).free
        if free < st.st_size:
            raise DatasetLayoutError(f"{path}: inflating it once needs about {st.st_size / 1e9:.1f} GB in {folder}, "
                                     f"which has {free / 1e9:.1f} GB free; set ROBENCH_CACHE_DIR elsewhere or extract it")
        sys.stderr.write(f"robench: inflating {path} once into {target} (then read in place from there)\n")
        partial = f"{target}.partial-{os.getpid()}"
        try:
            with gzip.open(path, "rb") as src, open(partial, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 22)
            os.replace(partial, target)
        except (OSError, EOFError, zlib.error) as e:
            raise DatasetLayoutError(f"archive {path} does not inflate ({type(e).__name__}: {e}): truncated or "
                                     "damaged; download it again") from None
        finally:
            if os.path.exists(partial):
                os.remove(partial)
    return target


def tar_index(path):
    """{"names", "offsets", "sizes", "mtimes"} of the regular members of ``path`` in archive order: read
    from the cache when the archive's path, size and mtime are those it was built from, else built (one
    pass over the headers) and cached."""
    from robench.cache import cached_index

    st = os.stat(path)
    identity = [os.path.abspath(path), st.st_size, st.st_mtime_ns]
    return cached_index("archive-index", identity, INDEX_VERSION, lambda: build_tar_index(path, st.st_size),
                        _valid)


def build_tar_index(path, file_size):
    """One sequential pass over the tar's headers (data blocks are skipped with a seek, not read); each
    member's data must end inside the file and the members must be followed by the end-of-archive block."""
    names, offsets, sizes, mtimes = [], [], [], []
    last = None
    with open(path, "rb", buffering=0) as raw:  # unbuffered: a header read is one 512-byte read
        try:
            tar = tarfile.open(fileobj=raw, mode="r:")
        except tarfile.TarError as e:
            raise DatasetLayoutError(f"{path} is not a readable uncompressed tar ({e}); a .tar.gz must be "
                                     "gunzipped first (gunzip -k) or extracted") from None
        while True:
            try:
                member = tar.next()
            except (tarfile.TarError, EOFError) as e:
                raise DatasetLayoutError(f"archive {path} is damaged or truncated after member {last} ({e}); "
                                         "download it again") from None
            if member is None:
                break
            tar.members = []  # tarfile keeps every header it read: millions of them for ImageNet-C
            last = member.name
            if not member.isreg():
                continue
            end = member.offset_data + member.size
            if end > file_size:
                raise DatasetLayoutError(f"archive {path} is truncated: member {member.name} needs bytes up to "
                                         f"{end} but the file has {file_size}; download it again")
            names.append(member_name(member.name))
            offsets.append(member.offset_data)
            sizes.append(member.size)
            mtimes.append(int(member.mtime))
        marker = os.pread(raw.fileno(), BLOCK, tar.offset)
    if len(marker) < BLOCK or marker.count(0) != BLOCK:
        raise DatasetLayoutError(f"archive {path} is truncated or damaged after member {last}: no end-of-archive "
                                 f"block at byte {tar.offset} of {file_size}; download it again")
    return {"names": names, "offsets": offsets, "sizes": sizes, "mtimes": mtimes}


def member_name(name):
    """A member's path as it is once extracted: ``./imagenet-r/x.jpg`` -> ``imagenet-r/x.jpg``."""
    while name.startswith("./"):
        name = name[2:]
    return name.lstrip("/")


def _valid(index):
    columns = [index.get(k) for k in ("names", "offsets", "sizes", "mtimes")]
    return all(isinstance(c, list) for c in columns) and len({len(c) for c in columns}) == 1
