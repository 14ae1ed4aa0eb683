"""The options ``eval``, ``parity`` and ``train`` share are declared once (robench.commands.common):
the same name, type, default and help in each; and eval's renamed ``--checkpoint-every`` (batches,
now ``--progress-every``) still works from the command line and from a --config file, with one
deprecation line, while train's ``--checkpoint-every`` (epochs) keeps its name."""
import json

import pytest
from click.testing import CliRunner

from robench.cli import cli
from robench.commands import eval as eval_command
from robench.commands import parity as parity_command
from robench.commands import train as train_command

from engine_support import ORACLE

DEPRECATED = ("warning: --checkpoint-every is deprecated in robench eval: use --progress-every (batches between "
              "progress files; robench train's --checkpoint-every counts epochs)")


def _option(command, flag):
    (found,) = [p for p in command.command.params if flag in p.opts]
    return found


def _declaration(param):
    return (param.name, tuple(param.opts), param.type.to_info_dict(), param.default, param.help,
            param.multiple, param.is_flag)


@pytest.mark.parametrize("flag, commands", [
    ("--suite", (eval_command, parity_command)),
    ("--root", (eval_command, parity_command)),
    ("--data-dir", (eval_command, parity_command)),
    ("--select", (eval_command, parity_command)),
    ("--batch-size", (eval_command, parity_command)),
    ("--precision", (eval_command, parity_command)),
    ("--workers", (eval_command, parity_command, train_command)),
    ("--no-progress", (eval_command, parity_command, train_command)),
    ("--device", (eval_command, train_command)),
    ("--channels-last", (eval_command, train_command)),
    ("--compile", (eval_command, train_command)),
])
def test_a_shared_option_is_the_same_in_every_command(flag, commands):
    first, *others = [_declaration(_option(c, flag)) for c in commands]
    assert all(other == first for other in others)


def _print_config(*args, config=None):
    runner = CliRunner()
    result = runner.invoke(cli, ["eval", *args, *(["--config", str(config)] if config else []), "--print-config"])
    return result


def test_eval_checkpoint_every_is_a_hidden_alias_of_progress_every(tmp_path):
    assert "--checkpoint-every" not in CliRunner().invoke(cli, ["eval", "--help"]).output
    result = _print_config("-m", ORACLE, "--checkpoint-every", "7")
    assert result.exit_code == 0, result.output
    assert result.stderr.strip().splitlines() == [DEPRECATED]
    assert "progress_every = 7\n" in result.stdout and "checkpoint_every" not in result.stdout
    both = _print_config("-m", ORACLE, "--checkpoint-every", "7", "--progress-every", "2")
    assert both.exit_code == 2 and both.output.strip().splitlines() == [
        "Error: --checkpoint-every is the old name of --progress-every: give only --progress-every"]
    plain = _print_config("-m", ORACLE, "--progress-every", "3")
    assert plain.stderr == "" and "progress_every = 3\n" in plain.stdout


def test_a_config_files_checkpoint_every_is_read_as_progress_every(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(f'models = ["{ORACLE}"]\ncheckpoint_every = 4\n')
    result = _print_config(config=config)
    assert result.exit_code == 0, result.output
    assert result.stderr.strip().splitlines() == [
        f"warning: config file {config}: checkpoint_every is deprecated in robench eval: use progress_every "
        "(batches between progress files; robench train's --checkpoint-every counts epochs)"]
    assert "progress_every = 4\n" in result.stdout and "checkpoint_every" not in result.stdout
    assert "progress_every = 9\n" in _print_config("--progress-every", "9", config=config).stdout  # the flag wins
    config.write_text(f'models = ["{ORACLE}"]\ncheckpoint_every = -1\n')
    refused = _print_config(config=config)
    assert refused.exit_code == 2 and f"config file {config}: checkpoint_every: -1 is not in the range x>=0" \
        in refused.output


def test_the_old_flag_runs_and_the_record_stores_the_new_name(clean_root, tmp_path):
    result = CliRunner().invoke(cli, ["eval", "-m", ORACLE, "-r", str(clean_root), "-o", str(tmp_path), "-j", "0",
                                      "--no-progress", "--checkpoint-every", "1"])
    assert result.exit_code == 0, result.output
    assert result.stderr.strip().splitlines() == [DEPRECATED]
    (path,) = tmp_path.glob("*/imagenet.json")
    stored = json.loads(path.read_text())["run"]["config"]
    assert stored["progress_every"] == 1 and "checkpoint_every" not in stored


def test_train_keeps_checkpoint_every_in_epochs():
    option = _option(train_command, "--checkpoint-every")
    assert (option.name, option.default, option.hidden) == ("checkpoint_every", 1, False)
    assert option.help == "Write latest.pth every N epochs."
    assert "--progress-every" not in CliRunner().invoke(cli, ["train", "--help"]).output
