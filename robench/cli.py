"""The ``robench`` command line. Thin: parse, then call library functions.

Commands live one per module in ``robench/commands/`` (``data_<name>.py`` modules become
``robench data <name>``), so adding a command is one new file. Nothing here imports torch:
``robench --help`` stays instant.
"""
import errno
import importlib
import pkgutil

import click

from robench import __version__
from robench.errors import RobenchError


class UserError(click.ClickException):
    """A RobenchError shown as one line, exit code 2, no traceback."""

    exit_code = 2


# errors of the disk, not of robench: a full disk or a folder robench may not write is one line for every
# command (data synth, shard, corrupt as well as eval), never a traceback
DISK_ERRORS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.ENOTDIR}


class Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except RobenchError as e:
            if type(e).__name__ == "RankTimeout":  # gloo threads would abort a normal exit
                from robench.engine.runtime import leave_after_rank_timeout

                leave_after_rank_timeout(e)
            raise UserError(str(e)) from None
        except OSError as e:
            if e.errno not in DISK_ERRORS:
                raise
            where = f" {e.filename}" if e.filename else ""
            raise UserError(f"cannot write{where}: {e.strerror}; free space or choose a writable folder") from None


def _command_modules(prefix):
    import robench.commands as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith(prefix):
            yield importlib.import_module(f"robench.commands.{info.name}")


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="robench")
def cli():
    """robench: how does this image classifier hold up out of distribution?"""


@cli.group(cls=Group)
def data():
    """Make, check and pack benchmark data."""


for _module in _command_modules(""):
    if hasattr(_module, "command"):
        target = data if _module.__name__.rsplit(".", 1)[-1].startswith("data_") else cli
        target.add_command(_module.command)


def main(argv=None):
    cli.main(args=argv, prog_name="robench")


if __name__ == "__main__":
    main()
