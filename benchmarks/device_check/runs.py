"""How the check runs robench: the CLI in this process (its output kept), children with the
repository on their path, the records they write, and what the machine is."""
import contextlib
import io
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ORACLE = "robench.models.oracle:colour_oracle"


def machine():
    import torch

    info = {"torch": torch.__version__, "cuda": torch.version.cuda, "cuda_available": torch.cuda.is_available(),
            "gpus": torch.cuda.device_count() if torch.cuda.is_available() else 0, "cpus": os.cpu_count(),
            "python": sys.version.split()[0]}
    if info["gpus"]:
        info["gpu_name"] = torch.cuda.get_device_name(0)
    try:
        import torchvision

        info["torchvision"] = torchvision.__version__
    except ImportError:
        pass
    return info


def env(**extra):
    """A child's environment: offline, unbuffered, the repository importable."""
    out = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    out["PYTHONPATH"] = os.pathsep.join([REPO, out.get("PYTHONPATH", "")])
    out.update({k: str(v) for k, v in extra.items()})
    return out


def robench_cli(args):
    """``robench ARGS`` in this process, its output kept; raises on failure: RobenchError for the one-line
    errors a user sees (exit 2), RuntimeError for any other exit code."""
    import click

    from robench.cli import cli
    from robench.errors import RobenchError

    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output):
            cli.main(args=list(args), prog_name="robench", standalone_mode=False)
    except click.ClickException as e:
        raise RobenchError(e.format_message()) from None
    except SystemExit as e:
        if e.code not in (0, None):
            raise RuntimeError(f"robench {' '.join(args)} exited with {e.code}: {output.getvalue()[-2000:]}") from None
    return output.getvalue()


def record(out, model_name, suite="imagenet"):
    with open(os.path.join(out, model_name, f"{suite}.json")) as f:
        return json.load(f)
