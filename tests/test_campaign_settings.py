"""The parts of `robench submit` / `robench status` that need no cluster: ranks from Slurm's variables, time
limits, the plain sbatch script, error lines and refusals. The campaigns themselves run on a real Slurm in
tests/test_slurm_campaign.py."""
import json

import pytest
from click.testing import CliRunner

from robench.campaign import spec
from robench.campaign.slurm import sbatch_script
from robench.campaign.task_runner import error_line
from robench.cli import cli
from robench.commands.submit import _time_minutes
from robench.engine.slurm_ranks import first_host, torchrun_env

STEP = {"SLURM_STEP_NUM_TASKS": "4", "SLURM_PROCID": "3", "SLURM_LOCALID": "1", "SLURM_JOB_ID": "123",
        "SLURM_STEP_NODELIST": "gpu[07-08]", "SLURM_STEP_TASKS_PER_NODE": "2(x2)"}


def test_a_multi_task_step_gives_torchrun_variables():
    assert torchrun_env(STEP) == {"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2",
                                  "MASTER_ADDR": "gpu07", "MASTER_PORT": "15123"}


@pytest.mark.parametrize("environ", [
    {"SLURM_NTASKS": "4", "SLURM_PROCID": "0"},  # the batch script itself: one process, whatever --ntasks says
    {**STEP, "SLURM_STEP_NUM_TASKS": "1"},  # a one-task step
    {**STEP, "WORLD_SIZE": "2", "RANK": "0"},  # torchrun inside srun: torchrun's variables win
    {},
])
def test_one_process_or_torchrun_leaves_the_environment_alone(environ):
    assert torchrun_env(environ) == {}


@pytest.mark.parametrize("nodelist, host", [("vm", "vm"), ("a1,b2", "a1"), ("gpu[03-05,09],cpu1", "gpu03"),
                                            ("node[7]", "node7")])
def test_the_first_host_of_a_node_list(nodelist, host):
    assert first_host(nodelist) == host


@pytest.mark.parametrize("text, minutes", [("30", 30), ("4:00:00", 240), ("1-12", 2160), ("10:30", 11),
                                           ("0:10:00", 10), ("2-0:30", 2910)])
def test_time_limits_as_slurm_writes_them(text, minutes):
    assert _time_minutes(None, None, text) == minutes


@pytest.mark.parametrize("text", ["0", "x", "1:xx"])
def test_a_bad_time_limit_is_refused(text):
    import click

    with pytest.raises(click.BadParameter):
        _time_minutes(None, None, text)


def test_the_sbatch_script_runs_srun_for_several_ranks_and_names_every_setting(tmp_path):
    cluster = spec.Cluster(partition="gpu", nodes=2, ranks_per_node=4, gpus_per_node=4, cpus_per_rank=8, mem="64G",
                           time_min=240, max_running=3, account="lab", qos="high", sbatch={"constraint": "a100", "exclusive": ""})
    campaign = spec.Campaign(str(tmp_path / "out"), 16, cluster, ["resnet50.a1_in1k"], {"imagenet": {"imagenet": 50000}})
    script = sbatch_script(campaign, 'models = ["resnet50.a1_in1k"]\n', robench="robench")
    for line in ("#SBATCH --array=0-15%3", "#SBATCH --nodes=2", "#SBATCH --ntasks-per-node=4", "#SBATCH --partition=gpu",
                 "#SBATCH --gpus-per-node=4", "#SBATCH --cpus-per-task=8", "#SBATCH --mem=64G", "#SBATCH --time=240",
                 "#SBATCH --account=lab", "#SBATCH --qos=high", "#SBATCH --constraint=a100", "#SBATCH --exclusive",
                 "#SBATCH --requeue", 'models = ["resnet50.a1_in1k"]',
                 f'srun robench eval --config "$config" --out {tmp_path / "out"} --task auto'):
        assert line in script.splitlines(), line


@pytest.mark.parametrize("tail, code, expected", [
    (["loading", "error: model x failed on imagenet: boom", "Error: 1 model failed"], 1, "Error: 1 model failed"),
    (["Traceback", "ValueError: bad"], 1, "ValueError: bad (exit code 1)"),
    ([], -15, "robench eval was stopped by SIGTERM (scancel, preemption, a time limit or a lost node)"),
    ([], 3, "robench eval exited with code 3 and printed nothing"),
])
def test_the_error_line_of_a_failed_task(tail, code, expected):
    assert error_line(tail, code) == expected


def test_status_of_a_folder_without_a_campaign_is_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["status", str(tmp_path)])
    assert result.exit_code == 2 and "holds no robench campaign" in result.output and "robench submit" in result.output


def test_a_damaged_campaign_file_is_one_line(tmp_path):
    (tmp_path / ".campaign").mkdir()
    (tmp_path / ".campaign" / "campaign.json").write_text(json.dumps({"version": 99}))
    result = CliRunner().invoke(cli, ["status", str(tmp_path)])
    assert result.exit_code == 2 and "is not a campaign file robench wrote" in result.output


def test_resume_refuses_eval_settings(tmp_path):
    result = CliRunner().invoke(cli, ["submit", "--resume", str(tmp_path), "-m", "resnet50", "--array-tasks", "4"])
    assert result.exit_code == 2 and "--resume reruns the campaign as it was submitted" in result.output
    assert "--model," in result.output and "--array-tasks" in result.output


def test_a_second_campaign_in_the_same_folder_is_refused(tmp_path, clean_root):
    spec.create(str(tmp_path / "out"), 2, spec.Cluster(), ["m"], {"imagenet": {"imagenet": 1}}, "")
    result = CliRunner().invoke(cli, ["submit", "-m", "robench.models.oracle:colour_oracle", "-r", str(clean_root / "val"),
                                      "-o", str(tmp_path / "out"), "-n", "2"])
    assert result.exit_code == 2 and "already holds a campaign" in result.output and "--resume" in result.output


def test_the_dry_run_checks_the_data_before_printing(tmp_path):
    result = CliRunner().invoke(cli, ["submit", "-m", "robench.models.oracle:colour_oracle", "-r", str(tmp_path / "nowhere"),
                                      "-o", str(tmp_path / "out"), "--dry-run"])
    assert result.exit_code == 2 and "nowhere" in result.output and not (tmp_path / "out").exists()


def test_a_config_file_drives_the_dry_run_like_eval(tmp_path, clean_root):
    config = tmp_path / "run.toml"
    config.write_text(f'models = ["robench.models.oracle:colour_oracle"]\nroots = ["{clean_root / "val"}"]\nbatch_size = 7\n')
    result = CliRunner().invoke(cli, ["submit", "--config", str(config), "-o", str(tmp_path / "out"), "-n", "4",
                                      "--dry-run", "--workers", "3"])
    assert result.exit_code == 0, result.output
    assert "#SBATCH --array=0-3" in result.output and "batch_size = 7" in result.output and "workers = 3" in result.output
    assert 'models = ["robench.models.oracle:colour_oracle"]' in result.output


def test_a_task_whose_file_says_running_but_slurm_lost_it_is_named_lost(tmp_path, monkeypatch):
    from robench.campaign import slurm, status, tasks

    campaign = spec.create(str(tmp_path), 3, spec.Cluster(), ["m"], {"imagenet": {"imagenet": 10}}, "")
    campaign.add_submission({0: "7_0", 1: "7_1", 2: "7_2"}, merge_job="8")
    tasks.mark_finished(str(tmp_path), tasks.mark_running(str(tmp_path), 0, 3, "7_0"))
    tasks.mark_running(str(tmp_path), 1, 3, "7_1")
    monkeypatch.setattr(slurm, "queue_states", lambda ids: {"7_2": "PENDING"})  # task 1 is gone from the queue
    got = status.read_status(str(tmp_path))
    assert [t.state for t in got.tasks] == ["done", "lost", "pending"] and got.rerun == [1]
    text = status.render(got)
    assert "task 1: lost job 7_1" in text and "Slurm no longer has it" in text
    assert f"rerun task(s) 1: robench submit --resume {tmp_path}" in text
    monkeypatch.setattr(slurm, "queue_states", lambda ids: None)  # Slurm does not answer: the files alone
    quiet = status.read_status(str(tmp_path))
    assert [t.state for t in quiet.tasks] == ["done", "running", "pending"]
    assert "Slurm does not answer" in status.render(quiet)


def test_without_sbatch_submit_says_where_to_run_it(tmp_path, clean_root, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch here
    result = CliRunner().invoke(cli, ["submit", "-m", "robench.models.oracle:colour_oracle", "-r", str(clean_root / "val"),
                                      "-o", str(tmp_path / "out"), "-n", "2"])
    assert result.exit_code == 2 and "needs Slurm's sbatch on PATH" in result.output
    assert not (tmp_path / "out" / ".campaign").exists()  # nothing is left behind that looks like a campaign
