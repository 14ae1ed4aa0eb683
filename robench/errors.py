"""Errors a user can cause. The CLI prints their message as one line and exits with code 2."""


def first_line(error, default="", limit=200):
    """The first line of an exception's message (torch's run over many lines), at most ``limit`` characters."""
    return (str(error).strip().splitlines() or [default])[0][:limit]


class RobenchError(Exception):
    """Base of every user-facing error: bad input, bad data, bad spec. The message says what to do."""


class DatasetLayoutError(RobenchError):
    """A data root is not in the layout a suite expects."""


class BadImageError(RobenchError):
    """An image file could not be decoded."""


class ModelSpecError(RobenchError):
    """A model spec names nothing that can be built or loaded."""


class RecordError(RobenchError):
    """A result record is malformed, or records that must agree do not."""
