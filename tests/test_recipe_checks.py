"""`robench train --set` values are checked by their field's type and range before the first step.

They used to be tracebacks (`lr_base=nan`, `opt=adamx`, `epochs=none`, some after training had started) or
accepted silently (`scale=1,0.2`, `reprob=1.5`, `warmup_epochs=-3`). Every field of the paper's and the demo
recipes is covered: each hostile value gives one RecipeError line naming the field and what it expects.
"""
import dataclasses

import pytest
from click.testing import CliRunner

from robench.cli import cli
from robench.errors import RobenchError
from robench.train.recipe_checks import RULES, RecipeError
from robench.train.recipes import RECIPES, get_recipe, with_overrides

HOSTILE = [
    ("lr_base", "-1"), ("lr_base", "nan"), ("lr_base", "0"), ("weight_decay", "inf"), ("weight_decay", "-0.1"),
    ("scale", "0.2,0.5,1"), ("scale", "1,0.2"), ("scale", "0,1"), ("scale", "0.5,1.5"), ("ratio", "2,1"),
    ("epochs", "0"), ("epochs", "-2"), ("epochs", "none"), ("epochs", "2.5"), ("opt", "adamx"),
    ("sched", "bogus"), ("smoothing", "2"), ("smoothing", "1"), ("train_interpolation", "foo"),
    ("reprob", "1.5"), ("warmup_epochs", "-3"), ("input_size", "100000"), ("input_size", "8"),
    ("global_batch", "0"), ("hflip", "-0.5"), ("mixup_prob", "2"), ("drop_path", "1"), ("precision", "fp8"),
    ("clip_grad", "-1"), ("ema_decay", "1"), ("mixup_mode", "row"), ("remode", "x"), ("auto_augment", "foo"),
    ("color_jitter", "-1"), ("cutmix", "nan"), ("min_lr", "-1"), ("recount", "0"), ("repeated_aug", "0"),
]


@pytest.mark.parametrize("field, value", HOSTILE)
def test_a_hostile_value_is_one_line_naming_the_field(field, value):
    with pytest.raises(RecipeError) as raised:
        with_overrides(get_recipe("deit-300ep"), {field: value})
    message = str(raised.value)
    assert f"{field}={value} is not valid (expected" in message and "\n" not in message


def test_every_recipe_field_has_a_rule_and_every_preset_passes_it():
    from robench.train.recipe_checks import check
    from robench.train.recipes import Recipe

    assert {f.name for f in dataclasses.fields(Recipe)} == set(RULES)
    for name in RECIPES.names():
        check(get_recipe(name))


@pytest.mark.parametrize("field, value, expected", [
    ("scale", "0.2,0.9", (0.2, 0.9)), ("color_jitter", "none", None), ("clip_grad", "1.5", 1.5),
    ("epochs", "3", 3), ("epochs", "3.0", 3), ("opt", "sgd", "sgd"), ("auto_augment", "augmix", "augmix"),
])
def test_good_values_still_parse(field, value, expected):
    assert getattr(with_overrides(get_recipe("demo"), {field: value}), field) == expected


@pytest.mark.parametrize("key, hint", [("lr", "Did you mean lr_base?"), ("name", "recipe has no field 'name'."),
                                       ("wd", "Did you mean weight_decay?")])
def test_unknown_fields_point_to_the_right_one(key, hint):
    with pytest.raises(RobenchError) as raised:
        with_overrides(get_recipe("demo"), {key: "1"})
    assert hint in str(raised.value) and "Did you mean name" not in str(raised.value)


def test_the_cli_refuses_before_writing_anything(tmp_path):
    from robench.datasets.imagenet import write_imagenet

    write_imagenet(str(tmp_path / "data"), n_classes=2, per_class=2, size=32, train_per_class=2)
    result = CliRunner().invoke(cli, ["train", "--model", "test_robust_resnet", "--root", str(tmp_path / "data"),
                                      "--recipe", "demo", "--out", str(tmp_path / "run"), "--set", "reprob=1.5"])
    assert result.exit_code == 2, result.output
    assert "reprob=1.5 is not valid (expected <= 1)" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run" / "latest.pth").exists()
