"""How the evaluation loop shows its progress: a tqdm bar on a terminal, plain lines in a log.

A bar redraws itself with a carriage return several times a second; in a CI log, under ``nohup`` or
in ``> log`` that is thousands of lines of noise. When stderr (where tqdm writes) is not a terminal,
the loop gets a ``LineProgress``: one line per finished variant, and at most one line every
``ROBENCH_PROGRESS_INTERVAL`` seconds (default 30) inside a long one. ``ROBENCH_PROGRESS=bar|lines|none``
overrides the choice. All three keep tqdm's ``update`` / ``set_description`` / ``close``, so the loop
does not care which it has.
"""
import os
import sys
import time

from robench.errors import RobenchError

MODES = ("bar", "lines", "none")
DEFAULT_INTERVAL = 30.0
PREFIX = "[robench]"


def make_progress(total, enabled, world=1, variant_totals=None):
    """The progress display for ``total`` images; ``variant_totals``: images per variant name.
    The environment is read on every rank, so that a bad value stops all ranks alike."""
    mode, interval = progress_mode(), progress_interval()
    if not enabled or mode == "none":
        return SilentProgress()
    if mode == "bar":
        from tqdm import tqdm

        unit = "img" if world == 1 else f"img (rank 0 of {world})"
        return tqdm(total=total, unit=unit, dynamic_ncols=True, smoothing=0.1, unit_scale=False, mininterval=0.5)
    return LineProgress(total, variant_totals, world, interval)


def progress_mode(stream=None):
    """``ROBENCH_PROGRESS`` when set; else "bar" on a terminal and "lines" anywhere else."""
    value = os.environ.get("ROBENCH_PROGRESS", "").strip().lower()
    if value:
        if value not in MODES:
            raise RobenchError(f"ROBENCH_PROGRESS={value!r}: use one of {', '.join(MODES)} (or unset it)")
        return value
    return "bar" if _is_terminal(stream if stream is not None else sys.stderr) else "lines"


def progress_interval():
    """Seconds between lines inside a variant (``ROBENCH_PROGRESS_INTERVAL``, default 30)."""
    text = os.environ.get("ROBENCH_PROGRESS_INTERVAL", "").strip()
    if not text:
        return DEFAULT_INTERVAL
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also NaN
        raise RobenchError(f"ROBENCH_PROGRESS_INTERVAL={text!r}: give seconds, a number >= 0")
    return value


def _is_terminal(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


class SilentProgress:
    """--no-progress, ROBENCH_PROGRESS=none and ranks other than 0."""

    def update(self, n=1):
        pass

    def set_description(self, desc=None, refresh=True):
        pass

    def close(self):
        pass


class LineProgress:
    """Progress as whole lines on stderr (looked up when writing, so redirections made later apply)."""

    def __init__(self, total, variant_totals=None, world=1, interval=DEFAULT_INTERVAL, stream=None,
                 clock=time.monotonic):
        self.total, self.totals = total, dict(variant_totals or {})
        self.scope = "" if world == 1 else f" (rank 0 of {world})"
        self.interval, self.stream, self.clock = interval, stream, clock
        self.start = self.last = clock()
        self.done, self.variant, self.variant_done = 0, None, 0

    def set_description(self, desc=None, refresh=True):
        """A new variant: the previous one is finished and gets its line."""
        if desc == self.variant:
            return  # another preprocessing group of the same variant
        self._finish_variant()
        self.variant, self.variant_done = desc, 0

    def update(self, n=1):
        self.done += n
        self.variant_done += n
        now = self.clock()
        if now - self.last >= self.interval:
            self._write(self.line(now))

    def close(self):
        self._finish_variant()
        self.variant = None

    def _finish_variant(self):
        if self.variant is not None:
            self._write(self.line(self.clock(), finished=True))

    def line(self, now, finished=False):
        """``[robench] VARIANT: 6/6 images done; all 6/18 images, 25.3 img/s, elapsed 00:01, ETA 00:02``."""
        from tqdm import tqdm

        elapsed = max(now - self.start, 0.0)
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = max(self.total - self.done, 0)
        eta = tqdm.format_interval(left / rate) if rate > 0 else ("00:00" if not left else "?")
        of = self.totals.get(self.variant)
        count = f"{self.variant_done}/{of}" if of is not None else str(self.variant_done)
        state = ""
        if finished:
            state = " done" if of is None or self.variant_done >= of else " stopped"
        return (f"{PREFIX} {self.variant}: {count} images{state}; all {self.done}/{self.total} images"
                f"{self.scope}, {rate:.1f} img/s, elapsed {tqdm.format_interval(elapsed)}, ETA {eta}")

    def _write(self, text):
        stream = self.stream if self.stream is not None else sys.stderr
        stream.write(text + "\n")
        stream.flush()
        self.last = self.clock()
