"""Sample index ranges: slices of a variant as sorted lists of half-open ``[start, stop)`` pairs.

A rank's slice starts as one range; after an interrupted run it is whatever the progress file has
not covered yet, which may be several ranges (each DataLoader worker stopped at its own place).
"""
from robench.errors import RobenchError


def contiguous_slice(n, index, count):
    """[start, stop) of part ``index`` of ``count`` contiguous parts of range(n); sizes differ by <= 1.

    Parts are never padded: when ``count > n`` the last parts are empty.
    """
    if not 0 <= index < count:
        raise RobenchError(f"slice {index} of {count} does not exist (index must be 0..{count - 1})")
    base, extra = divmod(n, count)
    start = index * base + min(index, extra)
    return start, start + base + (1 if index < extra else 0)


def total(ranges):
    return sum(b - a for a, b in ranges)


def normalise(ranges):
    """Sorted, non-empty, non-overlapping ranges with touching neighbours joined."""
    out = []
    for a, b in sorted((int(a), int(b)) for a, b in ranges if b > a):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return out


def from_indices(indices):
    """Ranges covering exactly ``indices`` (any order, no duplicates expected)."""
    return normalise([i, i + 1] for i in indices)


def subtract(ranges, removed):
    """``ranges`` minus ``removed``."""
    out, removed = [], normalise(removed)
    for a, b in normalise(ranges):
        for c, d in removed:
            if d <= a or c >= b:
                continue
            if c > a:
                out.append([a, c])
            a = max(a, d)
            if a >= b:
                break
        if a < b:
            out.append([a, b])
    return out


def part(ranges, index, count):
    """Part ``index`` of ``count`` of the samples in ``ranges``, taken contiguously by count."""
    lo, hi = contiguous_slice(total(ranges), index, count)
    out, offset = [], 0
    for a, b in ranges:
        n = b - a
        start, stop = max(lo - offset, 0), min(hi - offset, n)
        if start < stop:
            out.append([a + start, a + stop])
        offset += n
    return out
