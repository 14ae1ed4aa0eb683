"""User errors through the CLI: one clear line, exit code 2, no traceback, nothing partial."""
import subprocess
import sys

import pytest
from click.testing import CliRunner

from robench.cli import cli

from engine_support import ORACLE


def run(*args):
    return CliRunner().invoke(cli, list(args))


def _assert_user_error(result, pattern, out_dir=None):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert pattern in result.output
    assert result.output.strip().count("\n") == 0, result.output  # one line
    if out_dir is not None:
        assert not out_dir.exists() or not any(p.is_file() for p in out_dir.rglob("*.json"))


@pytest.mark.parametrize("spec, pattern", [
    ("resnet18x@random", "unknown model 'resnet18x'"),
    ("tv:resnet1800@random", "unknown model 'resnet1800'"),
    ("no_such_pkg_q:make", "cannot import 'no_such_pkg_q:make'"),
    ("resnet18@/nonexistent/w.pth", "checkpoint /nonexistent/w.pth does not exist"),
    ("resnet18@", "give 'random' or a weights file"),
])
def test_bad_model_specs(clean_root, tmp_path, spec, pattern):
    out = tmp_path / "out"
    _assert_user_error(run("eval", "-m", spec, "--root", str(clean_root), "--out", str(out)), pattern, out)


def test_missing_root(tmp_path):
    out = tmp_path / "out"
    result = run("eval", "-m", ORACLE, "--root", str(tmp_path / "missing"), "--out", str(out))
    _assert_user_error(result, "does not exist", out)


def test_bad_layout(tmp_path):
    (tmp_path / "data" / "val" / "dogs").mkdir(parents=True)
    out = tmp_path / "out"
    result = run("eval", "-m", ORACLE, "--root", str(tmp_path / "data"), "--out", str(out))
    _assert_user_error(result, "'dogs' is not an ImageNet-1k wnid", out)


def test_unknown_suite(clean_root, tmp_path):
    result = run("eval", "-m", ORACLE, "--suite", "imagenet-z", "--root", str(clean_root), "--out", str(tmp_path))
    _assert_user_error(result, "unknown suite or collection 'imagenet-z'")


def test_bad_shard_syntax(clean_root, tmp_path):
    result = run("eval", "-m", ORACLE, "--task", "3/2", "--root", str(clean_root), "--out", str(tmp_path))
    _assert_user_error(result, "--task 3/2")


def test_list_suites_and_models():
    result = run("list", "suites")
    assert result.exit_code == 0 and "imagenet" in result.output
    result = run("list", "models", "resnet1*")
    assert result.exit_code == 0 and "resnet18" in result.output.split()


def test_help_does_not_import_torch():
    code = ("import sys; from robench.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'torch' not in sys.modules and 'timm' not in sys.modules, 'heavy import'\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "eval" in proc.stdout and "list" in proc.stdout
