"""Repeated augmentation runs only the way the paper ran it: an image's copies on different devices.

timm's RepeatAugSampler (DeiT's RASampler) deals an image's copies to consecutive ranks, so with fewer
devices than copies they share a device batch (all 3 at world 1): another regime than the paper's, which
records used to call paper-recipe. Below its world size robench turns RA off, says so in one line, records
the regime and the world size, and the leaderboard puts such a run in its own section.
"""
import json
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from robench.cli import cli
from robench.leaderboard.protocol import departures, describe
from robench.train.data import make_sampler
from robench.train.recipes import (RA_ACROSS_DEVICES, RA_NONE, RA_OFF_BELOW_WORLD, get_recipe, repeated_aug_regime,
                                   training_info, with_overrides)

PAPER = get_recipe("deit-300ep")


def runtime(world, rank=0):
    return SimpleNamespace(world=world, rank=rank, is_main=rank == 0)


@pytest.mark.parametrize("world, regime, sampler", [
    (1, RA_OFF_BELOW_WORLD, "DistributedSampler"), (2, RA_OFF_BELOW_WORLD, "DistributedSampler"),
    (3, RA_ACROSS_DEVICES, "RepeatAugSampler"), (8, RA_ACROSS_DEVICES, "RepeatAugSampler"),
])
def test_the_regime_and_the_sampler_follow_the_world_size(world, regime, sampler, capsys):
    assert repeated_aug_regime(PAPER, world) == regime
    chosen = make_sampler(list(range(48)), PAPER, runtime(world))
    assert type(chosen).__name__ == sampler
    said = capsys.readouterr().err
    assert ("repeated augmentation (3 copies) is off" in said) == (regime == RA_OFF_BELOW_WORLD)


def test_at_three_devices_no_device_batch_holds_two_copies_of_one_image():
    """What makes world 3 the paper's regime: rank r's indices never repeat within the rank."""
    for rank in range(3):
        indices = list(make_sampler(list(range(30)), PAPER, runtime(3, rank)))
        assert len(indices) == len(set(indices))


def test_records_say_the_regime_and_only_the_papers_is_paper_recipe():
    assert training_info(PAPER, 300, world=8)["paper_recipe"] is True
    below = training_info(PAPER, 300, world=2)
    assert below["paper_recipe"] is False and below["world_size"] == 2
    assert below["repeated_aug"] == {"repeats": 3, "regime": RA_OFF_BELOW_WORLD}
    assert training_info(get_recipe("demo"), 6, world=1)["repeated_aug"]["regime"] == RA_NONE


def test_the_leaderboard_gives_a_below_world_run_its_own_section():
    record = {"model": {"training": training_info(PAPER, 300, world=2)}, "suite": {"name": "imagenet"},
              "run": {}, "variants": []}
    key = departures(record)
    assert dict(key)["training"] == "recipe=deit-300ep,epochs=300,repeated-aug off below 3 devices"
    assert "repeated-aug off below 3 devices" in describe(key)
    paper = {**record, "model": {"training": training_info(PAPER, 300, world=8)}}
    assert "training" not in dict(departures(paper))


def test_a_one_device_run_with_repeats_trains_without_them_and_records_it(tmp_path):
    from robench.datasets.imagenet import write_imagenet

    write_imagenet(str(tmp_path / "data"), n_classes=2, per_class=2, size=32, train_per_class=4)
    result = CliRunner().invoke(cli, [
        "train", "--model", "test_robust_resnet", "--root", str(tmp_path / "data"), "--recipe", "demo",
        "--out", str(tmp_path / "run"), "--epochs", "1", "-b", "4", "-j", "0", "--set", "repeated_aug=3",
        "--set", "input_size=32"])
    assert result.exit_code == 0, result.output + result.stderr
    assert "repeated augmentation (3 copies) is off: 1 device(s)" in result.stderr
    (record_path,) = (tmp_path / "run" / "results").rglob("imagenet.json")
    training = json.loads(record_path.read_text())["model"]["training"]
    assert training["world_size"] == 1 and training["repeated_aug"] == {"repeats": 3, "regime": RA_OFF_BELOW_WORLD}
    assert with_overrides(get_recipe("demo"), {"repeated_aug": "3"}).repeated_aug == 3


def test_a_train_split_of_one_class_is_warned_about(tmp_path):
    from robench.datasets.colour_code import write_class_folders

    write_class_folders(str(tmp_path / "data" / "train"), [7], 4, size=32, name_prefix="train")
    write_class_folders(str(tmp_path / "data" / "val"), [7], 2, size=32)
    result = CliRunner().invoke(cli, [
        "train", "--model", "test_robust_resnet", "--root", str(tmp_path / "data"), "--recipe", "demo",
        "--out", str(tmp_path / "run"), "--epochs", "1", "-b", "4", "-j", "0", "--set", "input_size=32"])
    assert result.exit_code == 0, result.output + result.stderr
    assert "train holds one class only" in result.stderr
