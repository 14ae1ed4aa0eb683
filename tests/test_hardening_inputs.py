"""Hostile and unlucky inputs to eval's options and model specs: one clear line, never a silent change.

Each case failed before: `NAME@random` gave every process its own network (two ranks of one record, a
resumed run); `--dist-timeout inf` computed every cell and then lost the record to JSON; `--crop-pct nan`
reached timm; a config file's `input_size = 63.9` became 63 and `batch_size = true` became 1;
`--print-config` crashed on the common `--root PATH`; a YAML `select: [fog, snow]` was read as one name;
a config with a wrong extension said "RobenchError: config file ..." twice; a folder given as config "does not
exist"; `--root imagenet-cc=PATH` was taken as a plain path.
"""
import subprocess
import sys

import pytest
import torch
from click.testing import CliRunner

from robench.cli import cli
from robench.errors import ModelSpecError
from robench.models import load_model
from robench.models.spec import parse_spec


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def one_line(result, *words):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert "Traceback" not in result.output and lines[-1].startswith("Error:"), result.output
    for word in words:
        assert word in lines[-1], (word, lines[-1])
    return lines[-1]


@pytest.mark.parametrize("spec", ["resnet18@random", "tv:resnet18@random", "test_robust_resnet@random:7"])
def test_random_weights_come_from_a_recorded_seed(spec):
    torch.manual_seed(123)
    first = load_model(spec)
    torch.manual_seed(456)  # whatever the caller's RNG holds
    second = load_model(spec)
    assert first.state_dict_sha256 == second.state_dict_sha256 and first.state_dict_sha256
    assert first.describe()["weights"] == "random"


def test_the_callers_random_stream_is_left_alone():
    torch.manual_seed(99)
    expected = torch.rand(3)
    torch.manual_seed(99)
    load_model("resnet18@random")
    assert torch.equal(torch.rand(3), expected)


def test_another_seed_is_another_network_and_name():
    default, other = load_model("resnet18@random"), load_model("resnet18@random:1")
    assert default.state_dict_sha256 != other.state_dict_sha256
    assert (default.name, other.name) == ("resnet18", "resnet18-seed1")
    assert parse_spec("resnet18@random").seed == 0 and parse_spec("resnet18@random:42").seed == 42


@pytest.mark.parametrize("bad", ["resnet18@random:-1", "resnet18@random:x", "resnet18@random:"])
def test_a_bad_seed_is_one_line(bad):
    with pytest.raises(ModelSpecError, match="@random:SEED takes a whole number"):
        parse_spec(bad)


def test_the_same_random_network_in_two_processes():
    code = ("import torch; from robench.models import load_model; torch.manual_seed(int(__import__('sys').argv[1])); "
            "print(load_model('resnet18@random').state_dict_sha256)")
    outs = {subprocess.run([sys.executable, "-c", code, str(seed)], capture_output=True, text=True,
                           check=True).stdout.strip() for seed in (1, 2)}
    assert len(outs) == 1


@pytest.mark.parametrize("flag, value", [("--dist-timeout", "inf"), ("--dist-timeout", "nan"),
                                         ("--crop-pct", "nan"), ("--crop-pct", "inf")])
def test_non_finite_numbers_are_refused_before_any_work(flag, value, tmp_path):
    result = run("eval", "-m", "resnet18@random", flag, value, "--root", tmp_path, "-o", tmp_path / "out")
    assert result.exit_code == 2 and ("is not a finite number" in result.output or "is not in the range" in result.output)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("line, words", [
    ("input_size = 63.9", "input_size must be a whole number, not 63.9"),
    ("batch_size = true", "batch_size must be a whole number, not True"),
    ("workers = 2.0", "workers must be a whole number"),
    ("dist_timeout = inf", "dist_timeout must be a finite number"),
    ("crop_pct = nan", "crop_pct must be a finite number"),
    ("verify = 1", "verify must be true or false"),
])
def test_config_numbers_are_never_truncated(tmp_path, line, words):
    config = tmp_path / "run.toml"
    config.write_text(f'models = ["resnet18@random"]\n{line}\n')
    one_line(run("eval", "--config", config, "--print-config"), words)


def test_print_config_with_a_plain_root_round_trips(tmp_path):
    first = run("eval", "-m", "resnet18@random", "--root", "/data/imagenet", "--print-config")
    assert first.exit_code == 0, first.output
    assert 'roots = ["/data/imagenet"]' in first.output
    (tmp_path / "run.toml").write_text(first.output)
    again = run("eval", "--config", tmp_path / "run.toml", "--print-config")
    assert again.exit_code == 0 and again.output == first.output
    per_suite = run("eval", "-m", "x", "-s", "imagenet,imagenet-c", "--root", "imagenet-c=/c", "--root",
                    "imagenet=/i", "--print-config")
    assert 'roots = {"imagenet-c" = "/c", "imagenet" = "/i"}' in per_suite.output


def test_a_yaml_list_of_selections_means_the_same_as_commas(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("models: [x]\nsuites: [imagenet-c]\nselect: [fog, snow/3]\n")
    result = run("eval", "--config", config, "--print-config")
    assert result.exit_code == 0 and 'select = "fog,snow/3"' in result.output


def test_config_file_messages_say_it_once(tmp_path):
    (tmp_path / "run.txt").write_text("x = 1\n")
    line = one_line(run("eval", "--config", tmp_path / "run.txt"), "use a .toml, .yaml or .yml file")
    assert line.count("config file") == 1 and "RobenchError" not in line
    one_line(run("eval", "--config", tmp_path), "is a folder; give a .toml, .yaml or .yml file")


def test_a_misspelt_suite_in_root_is_named(tmp_path):
    one_line(run("eval", "-m", "x", "-s", "imagenet,imagenet-c", "--root", f"imagenet-cc={tmp_path}"),
             "unknown suite 'imagenet-cc'", "Did you mean imagenet-c")
    one_line(run("eval", "-m", "x", "--root", "imagenet="), "--root imagenet= gives no path")
