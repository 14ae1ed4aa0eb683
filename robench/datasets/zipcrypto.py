"""Traditional PKWARE encryption ("ZipCrypto") of zip members, decrypted fast and bit-identically.

ObjectNet ships as one password-protected zip (``objectnet-1.0.zip``, ZipCrypto). Python's zipfile
decrypts it in pure Python, one byte per interpreter loop (about 2-3 MB/s here, see docs/suites.md):
hours for the ObjectNet images robench reads. The cipher is a byte-serial stream cipher (each key
update depends on the previous plaintext byte), so it cannot be vectorised; it is compiled instead,
with numba (the same arithmetic as APPNOTE.TXT 6.1 and zipfile's ``_ZipDecrypter``), when numba is
installed, and falls back to zipfile's own decrypter otherwise. Both give the same bytes (a test
checks it against zipfile on real ``zip -P`` archives).

- ``initial_keys(password)``: the three 32-bit keys after the password (cheap, in Python);
- ``decrypt(data, keys)``: the 12-byte encryption header and the member's data, decrypted;
- ``check_byte(info)``: the byte the header must end with (the CRC's high byte, or the DOS time's high
  byte when the member has a data descriptor): a wrong password is found here (1 in 256 passes, and
  then the CRC check of the whole member fails).
"""
import numpy as np

HEADER = 12  # bytes of the encryption header before each member's data
SMALL = 4096  # shorter inputs (headers checked at scan time) go through the Python loop: no compile for them
_KEYS = (0x12345678, 0x23456789, 0x34567890)


def _crc_table():
    """The reflected CRC-32 table (polynomial 0xEDB88320) the cipher's key updates use."""
    table = np.zeros(256, dtype=np.int64)
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        table[n] = c
    return table


CRC_TABLE = _crc_table()


def initial_keys(password):
    """(k0, k1, k2) after the password's bytes (``str`` is taken as UTF-8, as zip -P writes it)."""
    if isinstance(password, str):
        password = password.encode("utf-8")
    k0, k1, k2 = _KEYS
    for byte in password:
        k0, k1, k2 = _update(k0, k1, k2, byte)
    return k0, k1, k2


def _update(k0, k1, k2, byte):
    k0 = (k0 >> 8) ^ int(CRC_TABLE[(k0 ^ byte) & 0xFF])
    k1 = ((k1 + (k0 & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
    k2 = (k2 >> 8) ^ int(CRC_TABLE[(k2 ^ (k1 >> 24)) & 0xFF])
    return k0, k1, k2


def check_byte(info):
    """What the last decrypted header byte must be for ``info`` (a zipfile.ZipInfo), as zipfile checks it."""
    if info.flag_bits & 0x8:  # a data descriptor follows the data: the header checks the DOS time instead
        return (info._raw_time >> 8) & 0xFF
    return (info.CRC >> 24) & 0xFF


_COMPILED = None


def _compiled():
    """The numba kernel, compiled on first use (about a second, once per process: ``open_zip`` compiles it
    before DataLoader workers fork, so they inherit it), or None without numba."""
    global _COMPILED
    if _COMPILED is None:
        try:
            import numba
        except ImportError:
            _COMPILED = False
            return None

        @numba.njit(cache=False, nogil=True)
        def kernel(data, out, k0, k1, k2, table):
            for i in range(data.shape[0]):
                temp = (k2 | 2) & 0xFFFF
                plain = data[i] ^ (((temp * (temp ^ 1)) >> 8) & 0xFF)
                out[i] = plain
                k0 = (k0 >> 8) ^ table[(k0 ^ plain) & 0xFF]
                k1 = ((k1 + (k0 & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
                k2 = (k2 >> 8) ^ table[(k2 ^ (k1 >> 24)) & 0xFF]

        _COMPILED = kernel
    return _COMPILED or None


def decrypt(data, keys, force_python=False):
    """``data`` (the encryption header and the member's encrypted bytes) decrypted with ``keys``; bytes."""
    kernel = None if force_python or len(data) < SMALL else _compiled()
    if kernel is None:
        return _decrypt_python(data, keys)
    source = np.frombuffer(data, dtype=np.uint8)
    out = np.empty_like(source)
    kernel(source, out, keys[0], keys[1], keys[2], CRC_TABLE)  # int64 throughout: no uint64/int64 mixing
    return out.tobytes()


def warm():
    """Compiles the kernel now (where numba is installed); True when the fast path is there."""
    return _compiled() is not None


def _decrypt_python(data, keys):
    """The same loop in plain Python (zipfile's speed): the fallback without numba."""
    k0, k1, k2 = keys
    table = [int(t) for t in CRC_TABLE]
    out = bytearray(len(data))
    for i, c in enumerate(data):
        temp = (k2 | 2) & 0xFFFF
        plain = c ^ (((temp * (temp ^ 1)) >> 8) & 0xFF)
        out[i] = plain
        k0 = (k0 >> 8) ^ table[(k0 ^ plain) & 0xFF]
        k1 = ((k1 + (k0 & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        k2 = (k2 >> 8) ^ table[(k2 ^ (k1 >> 24)) & 0xFF]
    return bytes(out)
