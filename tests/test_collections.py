"""The whole benchmark in one command: collections, --data-dir, --root SUITE=PATH, --config, resume
across suites, and the paper-style table at the end, on every suite of the paper's table generated in
its real layout (stand-ins for the released data sets, which cannot be downloaded here)."""
import os
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from engine_support import ORACLE, SLOW_ORACLE, comparable, env, in_process, kill_when, load, robench_cmd
from robench.cli import cli
from robench.datasets import COLLECTIONS

PAPER = ["imagenet", "stylized-imagenet", "imagenet-c", "imagenet-r", "imagenet-val-r200", "imagenet-sketch"]
C_SELECTION = "gaussian_noise,brightness"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """``robench data synth D --suite paper`` with ImageNet-C cut to two corruptions (time), in a copy."""
    root = tmp_path_factory.mktemp("paper")
    result = in_process(["data", "synth", str(root), "--suite", "paper", "--classes", "3", "--per-class", "1",
                         "--size", "48"])
    for suite in ("imagenet", "stylized-imagenet", "imagenet-c", "imagenet-r", "imagenet-sketch"):
        assert f"layout under {root / suite}" in result.output
    return root


@pytest.fixture(scope="module")
def paper_run(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("paper-out")
    result = in_process(["eval", "-m", ORACLE, "-m", "resnet18@random", "--suite", "paper", "--data-dir", str(data),
                         "-o", str(out), "-j", "0", "-b", "16", "--no-progress"])
    return out, result.output


def test_the_paper_collection_is_declared_and_listed():
    assert COLLECTIONS.get("paper").suite_names() == PAPER
    listed = CliRunner().invoke(cli, ["list", "suites"]).output
    assert "paper" in listed and "every suite whose data is found" in listed and "stylized-imagenet/" in listed


def test_paper_in_one_command_writes_every_record_and_ends_with_the_table(paper_run):
    out, output = paper_run
    for model in ("colour_oracle", "resnet18"):
        assert sorted(f for f in os.listdir(out / model) if f.endswith(".json")) == sorted(f"{s}.json" for s in PAPER)
    oracle = next(line for line in output.splitlines() if line.startswith("colour_oracle ") and " -> " not in line)
    values = oracle.split()[1:]
    # ImageNet, Stylized, R, Sketch and the R-200 twin are clean stand-ins: the oracle is exact there
    assert values[0] == "100.0" and values[1] == "100.0" and values[5:] == ["100.0", "100.0", "100.0"]
    c = load(out / "colour_oracle" / "imagenet-c.json")["aggregates"]
    assert values[2:4] == [f"{c['mean_error']:.1f}", f"{c['mce']:.1f}"]
    report = CliRunner().invoke(cli, ["report", str(out)])
    assert report.exit_code == 0, report.output
    assert oracle in report.output  # robench report prints the same table


def test_missing_data_is_one_line_before_any_model_loads(data, tmp_path):
    partial = tmp_path / "d"
    shutil.copytree(data, partial)
    shutil.rmtree(partial / "imagenet-sketch")
    args = ["eval", "-m", "no_such_module:factory", "--suite", "paper", "--data-dir", str(partial), "-o",
            str(tmp_path / "out"), "-j", "0", "--no-progress"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and "Traceback" not in result.output
    line = result.output.strip().splitlines()[-1]
    assert str(partial / "imagenet-sketch") in line and "expected" in line and "--skip-missing" in line
    assert "no_such_module" not in result.output  # the data was checked before the model spec was tried
    skipped = CliRunner().invoke(cli, ["eval", "-m", ORACLE, *args[3:], "--skip-missing"])
    assert skipped.exit_code == 0, skipped.output
    assert "skipped imagenet-sketch" in skipped.output
    assert not (tmp_path / "out" / "colour_oracle" / "imagenet-sketch.json").exists()


def test_all_takes_what_is_found_and_root_overrides_one_suite(data, tmp_path):
    elsewhere = tmp_path / "sketch-here"
    shutil.copytree(data / "imagenet-sketch", elsewhere)
    out = tmp_path / "out"
    result = in_process(["eval", "-m", ORACLE, "--suite", "imagenet,imagenet-sketch", "--data-dir", str(tmp_path / "x"),
                         "--root", f"imagenet={data / 'imagenet'}", "--root", f"imagenet-sketch={elsewhere}",
                         "-o", str(out), "-j", "0", "--no-progress"])
    assert load(out / "colour_oracle" / "imagenet-sketch.json")["suite"]["root"] == str(elsewhere)
    assert "ImageNet-Sketch" in result.output  # the table at the end of a multi-suite run
    every = in_process(["eval", "-m", ORACLE, "--suite", "all", "--data-dir", str(data), "-o", str(tmp_path / "all"),
                        "-j", "0", "--no-progress"])
    written = sorted(f[:-5] for f in os.listdir(tmp_path / "all" / "colour_oracle") if f.endswith(".json"))
    # A and V2 have no data here: skipped, each with a line (A's clean twin finds the A classes that the
    # R twin's generated val images happen to share)
    assert set(PAPER) <= set(written) and not {"imagenet-a", "imagenet-v2"} & set(written)
    assert "skipped imagenet-a:" in every.output and "skipped imagenet-v2:" in every.output


def test_a_config_file_and_the_same_flags_write_identical_records(data, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(f'models = ["{ORACLE}"]\nsuites = ["imagenet", "imagenet-r"]\ndata_dir = "{data}"\n'
                      'batch_size = 4\nworkers = 0\nno_progress = true\n')
    in_process(["eval", "--config", str(config), "-o", str(tmp_path / "a")])
    in_process(["eval", "-m", ORACLE, "-s", "imagenet", "-s", "imagenet-r", "--data-dir", str(data), "-b", "4",
                "-j", "0", "--no-progress", "-o", str(tmp_path / "b")])
    for suite in ("imagenet", "imagenet-r"):
        a, b = (load(tmp_path / d / "colour_oracle" / f"{suite}.json") for d in "ab")
        assert comparable(a) == comparable(b) and a["run"]["config"] == b["run"]["config"]
        assert a["run"]["config"]["suites"] == ["imagenet", "imagenet-r"] and a["run"]["config"]["batch_size"] == 4
    shown = CliRunner().invoke(cli, ["eval", "--config", str(config), "-b", "8", "--print-config"])
    assert shown.exit_code == 0 and "batch_size = 8" in shown.output  # a flag overrides the file
    again = tmp_path / "again.toml"
    again.write_text(shown.output)
    assert CliRunner().invoke(cli, ["eval", "--config", str(again), "--print-config"]).output == shown.output
    config.write_text('modles = ["x"]\n')
    typo = CliRunner().invoke(cli, ["eval", "--config", str(config)])
    assert typo.exit_code == 2 and "unknown setting(s) modles" in typo.output and "Did you mean models" in typo.output


@pytest.mark.parametrize("setting, words", [
    ("batch_size = 0", "batch_size: 0 is not in the range x>=1"),
    ('precision = "fp8"', "precision must be fp32, bf16 or fp16, not 'fp8'"),
    ('workers = "many"', "workers: 'many' is not a valid integer"),
])
def test_a_config_file_value_is_checked_as_its_flag_would_be(tmp_path, setting, words):
    """Every file value goes through its flag's own click type: refused before any work, in one line."""
    config = tmp_path / "run.toml"
    config.write_text(f'models = ["{ORACLE}"]\nroots = {{imagenet = "/nonexistent"}}\n{setting}\n')
    result = CliRunner().invoke(cli, ["eval", "--config", str(config), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2 and words in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.multiprocess
def test_a_run_killed_in_its_third_suite_resumes_to_the_same_records(data, tmp_path):
    suites = "imagenet,stylized-imagenet,imagenet-c"
    base = ["eval", "-m", SLOW_ORACLE, "--suite", suites, "--data-dir", str(data), "-b", "1", "-j", "0",
            "--no-progress", "--progress-every", "1"]
    reference = tmp_path / "reference"
    in_process(base + ["-o", str(reference)])
    out = tmp_path / "out"
    proc = subprocess.Popen(robench_cmd(base + ["-o", str(out)]), env=env(SLOW_ORACLE_DELAY=0.05),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    third = out / "slow_oracle" / ".slices" / "imagenet-c"
    assert kill_when(proc, lambda: third.is_dir() and len(os.listdir(third)) >= 2, timeout=180), \
        "the run ended before its third suite could be killed"
    assert not (out / "slow_oracle" / "imagenet-c.json").exists()
    assert (out / "slow_oracle" / "stylized-imagenet.json").exists()
    done = subprocess.run(robench_cmd(base + ["-o", str(out)]), env=env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    for suite in suites.split(","):
        assert comparable(load(out / "slow_oracle" / f"{suite}.json"), out) == \
            comparable(load(reference / "slow_oracle" / f"{suite}.json"), reference)


def test_the_python_api_takes_a_plain_module_and_returns_the_table(data, tmp_path):
    import timm

    import robench
    from robench.models.oracle import ColourOracle

    results = robench.evaluate([ColourOracle(), timm.create_model("resnet18", pretrained=False)],
                               suites=["imagenet", "imagenet-sketch"], data_dir=str(data), out=str(tmp_path),
                               batch_size=8, workers=0)
    assert len(results.paths) == 4 and len(results.records) == 4
    frame = results.frame
    assert sorted(frame["model"]) == ["colouroracle", "resnet18"]
    oracle = frame[frame["model"] == "colouroracle"].iloc[0]
    assert oracle["imagenet_top1"] == 100.0 and oracle["sketch_top1"] == 100.0
    record = next(r for r in results.records if r["model"]["name"] == "resnet18")
    assert record["model"]["weights"] == "in-memory" and len(record["model"]["state_dict_sha256"]) == 64


@pytest.mark.multiprocess
def test_torchrun_and_job_array_tasks_over_a_collection_equal_one_process(data, tmp_path):
    from engine_support import run

    suites = "imagenet,imagenet-r,imagenet-val-r200"
    base = ["eval", "-m", ORACLE, "--suite", suites, "--data-dir", str(data), "-b", "2", "-j", "0", "--no-progress"]
    single, world, tasks = tmp_path / "single", tmp_path / "world2", tmp_path / "tasks"
    in_process(base + ["-o", str(single)])
    run(base + ["-o", str(world)], nproc=2, timeout=180)
    for i in range(2):
        in_process(base + ["-o", str(tasks), "--task", f"{i}/2"])
    merged = in_process(["merge", str(tasks)])
    assert merged.output.count("merged -> ") == 3
    for suite in suites.split(","):
        want = comparable(load(single / "colour_oracle" / f"{suite}.json"))
        assert comparable(load(world / "colour_oracle" / f"{suite}.json")) == want
        assert comparable(load(tasks / "colour_oracle" / f"{suite}.json")) == want
