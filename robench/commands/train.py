"""``robench train``: the paper's recipe (or another preset) on ROOT, resumable, ending in records."""
import click

from robench.commands.common import (channels_last_option, compile_option, device_option, no_progress_option,
                                     parse_list, workers_option)
from robench.errors import RobenchError
from robench.precision import PRECISIONS
from robench.train.recipes import PAPER, recipe_names


def parse_assignments(items, what, split=True):
    """['key=value', 'a=b,c=d'] -> {key: value}; a malformed item is a RobenchError naming it.
    ``split=False`` keeps commas in values (``--set scale=0.08,1``)."""
    out = {}
    for item in items:
        for part in (parse_list(item) or []) if split else [item]:
            key, sep, value = part.partition("=")
            if not sep or not key.strip():
                raise RobenchError(f"{what} '{part}' is not of the form KEY=VALUE")
            out[key.strip().replace("-", "_") if what == "--set" else key.strip()] = value.strip()
    return out


@click.command("train")
@click.option("--model", "-m", required=True, help="timm architecture, e.g. robust_resnet_dw_small.")
@click.option("--root", "-r", required=True, type=click.Path(), help="ROOT/train and ROOT/val: wnid folders or shard sets.")
@click.option("--out", "-o", required=True, type=click.Path(), help="Run directory (checkpoints, log, results).")
@click.option("--recipe", default=PAPER, show_default=True, type=click.Choice(recipe_names()))
@click.option("--epochs", type=click.IntRange(1), help="Override the recipe's epochs (the schedule follows).")
@click.option("--batch-size", "-b", type=click.IntRange(1), help="Per-device batch; global = this x processes.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), help="Base lr per 512 images (peak = lr x global batch / 512).")
@workers_option
@device_option
@click.option("--precision", type=click.Choice(PRECISIONS), help="Override the recipe's precision.")
@channels_last_option
@click.option("--ema", is_flag=True, default=None, help="Keep an EMA of the weights (timm ModelEmaV3).")
@click.option("--clip-grad", type=click.FloatRange(min=0, min_open=True), help="Clip the gradient norm to this.")
@compile_option
@click.option("--eval-every", default=1, show_default=True, type=click.IntRange(0), help="Validate every N epochs (0: at the end only).")
@click.option("--checkpoint-every", default=1, show_default=True, type=click.IntRange(1), help="Write latest.pth every N epochs.")
@click.option("--eval-suites", default="imagenet", show_default=True, help="Suites to evaluate the final weights on.")
@click.option("--eval-roots", multiple=True, help="SUITE=PATH for suites other than imagenet (repeatable or comma-separated).")
@click.option("--eval-batch-size", type=click.IntRange(1), help="Evaluation batch (default: the per-device batch).")
@click.option("--resume", type=click.Path(), help="Checkpoint to continue from (default: RUN_DIR/latest.pth if present).")
@click.option("--name", help="Model name in result records (default: <model>-<recipe>).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--set", "sets", multiple=True, metavar="FIELD=VALUE", help="Override a recipe field (repeatable), e.g. --set mixup=0 --set scale=0.2,1.")
@no_progress_option
def command(model, root, out, recipe, epochs, batch_size, lr, workers, device, precision, channels_last, ema,
            clip_grad, compile, eval_every, checkpoint_every, eval_suites, eval_roots, eval_batch_size, resume,
            name, seed, sets, no_progress):
    """Train MODEL on ROOT with a recipe; checkpoints and log go to OUT, records to OUT/results."""
    from robench.commands.eval import print_summary
    from robench.results import read_record
    from robench.train import TrainConfig, train

    overrides = parse_assignments(sets, "--set", split=False)
    overrides.update({k: v for k, v in {"epochs": epochs, "lr_base": lr, "precision": precision, "ema": ema,
                                         "clip_grad": clip_grad}.items() if v is not None})
    config = TrainConfig(
        model=model, root=root, out=out, recipe=recipe, overrides=overrides, batch_size=batch_size,
        workers=workers, device=device, channels_last=channels_last, compile=compile, eval_every=eval_every,
        checkpoint_every=checkpoint_every, eval_suites=tuple(parse_list(eval_suites) or ()),
        eval_roots=parse_assignments(eval_roots, "--eval-roots"), eval_batch_size=eval_batch_size,
        resume=resume, name=name, seed=seed, progress=not no_progress)
    for path in train(config):
        print_summary(read_record(path), path)
