"""`robench eval --task auto` inside a Slurm job array (a plain `sbatch --array=0-N-1` script).

The element's slice comes from SLURM_ARRAY_TASK_ID / _COUNT / _MIN / _MAX, set here as Slurm sets them in
each array element (no cluster runs in this test: the variables are what `--task auto` reads). The elements'
task records merge to the one-process record.
"""
import os

import pytest
from click.testing import CliRunner

from engine_support import ORACLE, comparable, in_process, load
from robench.cli import cli
from robench.commands.common import parse_task, slurm_array_task
from robench.datasets.imagenet import write_imagenet
from robench.errors import RobenchError


def array(task, count, low=0):
    return {"SLURM_ARRAY_TASK_ID": str(task), "SLURM_ARRAY_TASK_COUNT": str(count),
            "SLURM_ARRAY_TASK_MIN": str(low), "SLURM_ARRAY_TASK_MAX": str(low + count - 1)}


@pytest.mark.parametrize("env, expected", [(array(0, 3), (0, 3)), (array(2, 3), (2, 3)), (array(5, 4, low=3), (2, 4)),
                                           ({"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "2"}, (1, 2))])
def test_the_element_and_the_array_size_come_from_slurm(env, expected):
    assert slurm_array_task(env) == expected
    assert parse_task("auto", env) == expected and parse_task("AUTO", env) == expected


@pytest.mark.parametrize("env, words", [
    ({}, "which are not set"),
    ({**array(0, 4), "SLURM_ARRAY_TASK_MAX": "6"}, "contiguous array without a step"),  # --array=0-6:2
    ({**array(0, 2), "SLURM_ARRAY_TASK_ID": "x"}, "not numbers"),
])
def test_outside_an_array_or_with_a_step_is_one_line(env, words):
    with pytest.raises(RobenchError, match=words):
        slurm_array_task(env)


def test_array_elements_merge_to_the_one_process_record(tmp_path, monkeypatch):
    write_imagenet(str(tmp_path / "val"), n_classes=4, per_class=3, size=32)
    common = ["eval", "-m", ORACLE, "-r", str(tmp_path / "val"), "-j", "0", "-b", "2", "--no-progress"]
    in_process(common + ["-o", str(tmp_path / "single")])
    for element in (1, 2):  # sbatch --array=1-2: ids 1 and 2, slices 0 and 1
        for name, value in array(element, 2, low=1).items():
            monkeypatch.setenv(name, value)
        in_process(common + ["-o", str(tmp_path / "array"), "--task", "auto"])
    assert sorted(os.listdir(tmp_path / "array" / "colour_oracle")) == [
        ".slices", "imagenet.task-0-of-2.json", "imagenet.task-1-of-2.json"]
    in_process(["merge", str(tmp_path / "array")])
    merged = load(tmp_path / "array" / "colour_oracle" / "imagenet.json")
    single = load(tmp_path / "single" / "colour_oracle" / "imagenet.json")
    assert merged["variants"] == single["variants"] and comparable(merged) == comparable(single)
    for name in array(0, 1):
        monkeypatch.delenv(name)
    result = CliRunner().invoke(cli, common + ["-o", str(tmp_path / "x"), "--task", "auto"])
    assert result.exit_code == 2 and "--task auto reads the Slurm job array" in result.output
