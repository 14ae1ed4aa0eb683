"""Option parsing shared by several commands, and the options ``eval``, ``parity`` and ``train`` share.

Each shared option is declared once here, as a decorator, so its name, short form, type, default
and help are the same in every command that takes it.
"""
import os

import click

from robench.errors import RobenchError

EVAL_PRECISIONS = ["fp32", "bf16", "fp16"]
DEVICES = ["auto", "cpu", "cuda", "xla"]


class FiniteFloatRange(click.FloatRange):
    """A float range that refuses NaN and infinity: NaN passes every comparison of a plain FloatRange
    (``--crop-pct nan`` reached timm), and an infinite value cannot be stored in a JSON record."""

    name = "finite float range"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        import math

        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


def strict_file_value(param, value):
    """A config-file value as its flag would take it from the command line, or the reason it cannot be:
    click's own types turn 63.9 into 63 and ``true`` into 1 for an integer option, which a command line
    never could. Returns (ok, value or message)."""
    import math
    from numbers import Real

    kind = param.type
    if getattr(param, "is_flag", False) and not isinstance(value, bool):
        return False, f"must be true or false, not {value!r}"
    if isinstance(kind, (click.types.IntParamType,)) and not isinstance(value, str):
        if isinstance(value, bool) or not isinstance(value, int):
            return False, f"must be a whole number, not {value!r}"
    if isinstance(kind, click.types.FloatParamType) and not isinstance(value, str):
        if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
            return False, f"must be a finite number, not {value!r}"
    return True, value


def suites_option(f):
    return click.option("--suite", "-s", "suites", multiple=True,
                        help="Suite or collection (repeatable, comma-separated; e.g. imagenet-c, paper, all). "
                             "Default: imagenet.")(f)


def roots_option(f):
    return click.option("--root", "-r", "roots", multiple=True,
                        help="Data of one suite: PATH (a run of one suite) or SUITE=PATH (repeatable); folders "
                             "or a shard set.")(f)


def data_dir_option(f):
    return click.option("--data-dir", type=click.Path(), help="Each suite's data under its conventional folder "
                                                              "DIR/<folder> (robench list suites shows them).")(f)


def select_option(f):
    return click.option("--select", help="Comma-separated subset of variants of one suite (e.g. fog,snow or "
                                         "fog/3).")(f)


def eval_batch_size_option(f):
    return click.option("--batch-size", "-b", default=64, show_default=True, type=click.IntRange(1))(f)


def workers_option(f):
    return click.option("--workers", "-j", default=min(8, os.cpu_count() or 1), show_default=True,
                        type=click.IntRange(0))(f)


def device_option(f):
    return click.option("--device", default="auto", show_default=True, type=click.Choice(DEVICES),
                        help="xla: torch_xla's device (PJRT_DEVICE=TPU|CUDA|CPU), one process or under "
                             "torchrun.")(f)


def eval_precision_option(f):
    return click.option("--precision", default="fp32", show_default=True, type=click.Choice(EVAL_PRECISIONS))(f)


def channels_last_option(f):
    return click.option("--channels-last", is_flag=True, help="Run the model(s) in channels_last memory format.")(f)


def compile_option(f):
    return click.option("--compile", "compile", is_flag=True,
                        help="torch.compile the model(s) (pays off on long runs).")(f)


def no_progress_option(f):
    return click.option("--no-progress", is_flag=True, help="No progress bars.")(f)


def parse_task(text, environ=None):
    """'i/N' -> (i, N) with 0 <= i < N; 'auto' reads the Slurm job array's element (a plain sbatch
    ``--array=0-N-1`` script runs ``robench eval --task auto`` in every element)."""
    if text is None:
        return None
    if str(text).strip().lower() == "auto":
        return slurm_array_task(os.environ if environ is None else environ)
    try:
        i, n = (int(p) for p in text.split("/"))
    except ValueError:
        raise RobenchError(f"--task '{text}' is not of the form i/N (e.g. 0/4)") from None
    if n < 1 or not 0 <= i < n:
        raise RobenchError(f"--task {text}: need N >= 1 and 0 <= i < N")
    return i, n


def slurm_array_task(environ):
    """(i, N) of this Slurm array element: SLURM_ARRAY_TASK_ID counted from SLURM_ARRAY_TASK_MIN, out of
    SLURM_ARRAY_TASK_COUNT. The array must be contiguous (``--array=0-7`` or ``1-8``; a step such as
    ``0-15:2`` would leave slices unevaluated), which the counts show."""
    names = ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX")
    values = {n: environ.get(n) for n in names}
    if values["SLURM_ARRAY_TASK_ID"] is None or values["SLURM_ARRAY_TASK_COUNT"] is None:
        raise RobenchError("--task auto reads the Slurm job array's element (SLURM_ARRAY_TASK_ID and "
                           "SLURM_ARRAY_TASK_COUNT), which are not set: run it inside sbatch --array=0-N-1, or "
                           "give --task i/N")
    try:
        task, count = int(values["SLURM_ARRAY_TASK_ID"]), int(values["SLURM_ARRAY_TASK_COUNT"])
        low = int(values["SLURM_ARRAY_TASK_MIN"] or 0)
        high = int(values["SLURM_ARRAY_TASK_MAX"] or low + count - 1)
    except ValueError:
        raise RobenchError(f"--task auto: Slurm's array variables are not numbers ({values})") from None
    if high - low + 1 != count or not low <= task <= high:
        raise RobenchError(f"--task auto: the job array {low}-{high} holds {count} element(s); robench needs a "
                           "contiguous array without a step (e.g. --array=0-7) so that every slice is evaluated")
    return task - low, count


def parse_list(text):
    return [p.strip() for p in text.split(",") if p.strip()] if text else None


def echo_table(rows, headers):
    from tabulate import tabulate

    click.echo(tabulate(rows, headers=headers, floatfmt=".2f"))
