"""A run's configuration: ``robench eval --config run.toml`` (or .yaml), flags on top, stored in records.

A config file names what a command line would: models, suites (or collections), where the data is
(``data_dir`` and per-suite ``roots``), the output folder and the evaluation options, with the flags'
names (dashes or underscores). Flags given on the command line override the file; the resolved
configuration (without the output folder, which does not change the numbers) goes into every record
so a run can be reviewed and repeated, and ``--print-config`` shows it before anything runs::

    models = ["robench.models.oracle:colour_oracle", "resnet18@random"]
    suites = ["paper"]
    data_dir = "/data"
    roots = {imagenet-c = "/fast/imagenet-c"}
    batch_size = 128
"""
import json
import os

from robench.errors import RobenchError
from robench.registry import close_names

LISTS = ("models", "suites")
MAPS = ("roots",)  # a table SUITE = PATH, or a list of what --root takes (SUITE=PATH or one plain PATH)
JOINED = ("select",)  # comma-separated on the command line; a list in a file means the same
NOT_STORED = ("out", "config", "print_config", "no_progress")  # they do not change the numbers


def read_config(path):
    """The settings in a TOML or YAML file, keys with underscores; a clear error for anything else."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise RobenchError(f"config file {path} is a folder; give a .toml, .yaml or .yml file")
    if not os.path.isfile(path):
        raise RobenchError(f"config file {path} does not exist")
    if not path.endswith((".toml", ".yaml", ".yml")):
        raise RobenchError(f"config file {path}: use a .toml, .yaml or .yml file")
    try:
        if path.endswith(".toml"):
            import tomllib

            with open(path, "rb") as f:
                data = tomllib.load(f)
        elif path.endswith((".yaml", ".yml")):
            import yaml

            with open(path) as f:
                data = yaml.safe_load(f) or {}
    except (ValueError, OSError) as e:  # tomllib.TOMLDecodeError and yaml.YAMLError are ValueErrors or carry one
        raise RobenchError(f"config file {path} cannot be read: {e}") from None
    except Exception as e:  # yaml.YAMLError is not a ValueError
        raise RobenchError(f"config file {path} cannot be read: {type(e).__name__}: {e}") from None
    if not isinstance(data, dict):
        raise RobenchError(f"config file {path} must hold a table of settings, not {type(data).__name__}")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def resolve(file_settings, flags, given, known, where="the config file", convert=None):
    """Defaults (``flags`` as click parsed them), then the file, then the flags given on the command line.

    ``given``: names of the flags the user typed; ``known``: every setting name the command accepts;
    ``convert(key, value)``: checks and converts a file value as the command's own flag would (a value
    click would refuse on the command line is refused from the file too, before any work).
    """
    unknown = [k for k in file_settings if k not in known]
    if unknown:
        raise RobenchError(f"{where}: unknown setting(s) {', '.join(unknown)}.{close_names(unknown[0], known)} "
                           f"Known: {', '.join(sorted(known))}")
    out = dict(flags)
    for key, value in file_settings.items():
        if key not in given:
            value = _normalised(key, value, where)
            out[key] = value if convert is None or key in LISTS + MAPS else convert(key, value)
    return out


def _normalised(key, value, where):
    if key in LISTS:
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise RobenchError(f"{where}: '{key}' must be a string or a list of strings")
        return tuple(value)
    if key in MAPS:
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return tuple(value)
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise RobenchError(f"{where}: '{key}' must be a table of SUITE = PATH (or a list of --root values)")
        return tuple(f"{k}={v}" for k, v in value.items())
    if key in JOINED and isinstance(value, (list, tuple)):
        if not all(isinstance(v, str) for v in value):
            raise RobenchError(f"{where}: '{key}' must be a string or a list of strings")
        return ",".join(value)
    return value


def stored(config):
    """The part of a resolved configuration that goes into records (JSON-ready, stable order)."""
    out = {}
    for key in sorted(config):
        if key in NOT_STORED or config[key] in (None, (), []):
            continue
        value = config[key]
        out[key] = list(value) if isinstance(value, tuple) else value
    return json.loads(json.dumps(out))


def _names_a_suite(value):
    from robench.datasets import SUITES

    name, sep, _ = str(value).partition("=")
    return bool(sep) and name in SUITES


def as_text(config):
    """A resolved configuration as a TOML file that ``--config`` reads back."""
    lines = []
    for key, value in stored(config).items():
        if key == "roots" and all(_names_a_suite(v) for v in value):
            pairs = [v.split("=", 1) for v in value]
            lines.append(f"{key} = {{{', '.join(f'{json.dumps(k)} = {json.dumps(p)}' for k, p in pairs)}}}")
        elif key == "roots":  # a plain --root PATH (one-suite runs): the list form keeps it as typed
            lines.append(f"{key} = {json.dumps(list(value))}")
        elif isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        else:
            lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"
