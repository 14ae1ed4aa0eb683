"""``robench eval``: evaluate models on suites (or collections) and write one record per (model, suite)."""
import click

from robench.commands.common import (FiniteFloatRange, channels_last_option, compile_option, data_dir_option, device_option, echo_table,
                                     eval_batch_size_option, eval_precision_option, no_progress_option, parse_list,
                                     parse_task, roots_option, select_option, suites_option, workers_option)

RENAMED = {"checkpoint_every": "progress_every"}  # old setting -> new: the old one still works, with one warning


@click.command("eval")
@click.option("--model", "-m", "models", multiple=True,
              help="Model spec (repeatable): timm name, tv:NAME, module:factory, ARCH@weights, checkpoint path.")
@suites_option
@roots_option
@data_dir_option
@click.option("--labels", type=click.Path(), metavar="FILE",
              help="ImageNet val's labels when they are not beside the flat ILSVRC2012_val_*.JPEG files (or "
                   "ILSVRC2012_img_val.tar): the devkit folder, ILSVRC2012_devkit_t12.tar.gz or LOC_val_solution.csv.")
@click.option("--skip-missing", is_flag=True, help="Skip the suites whose data is not found instead of stopping.")
@click.option("--config", "config", type=click.Path(), help="A .toml or .yaml file of these settings; flags override it.")
@click.option("--print-config", is_flag=True, help="Print the resolved settings (as a --config file) and exit.")
@click.option("--out", "-o", default="results", show_default=True, type=click.Path(), help="Output directory.")
@select_option
@eval_batch_size_option
@workers_option
@device_option
@click.option("--threads", type=click.IntRange(1),
              help="CPU only: batches whose forward passes run at once, one thread each "
                   "(default: one per core, at most 16). Fewer use less memory; the numbers do not change.")
@eval_precision_option
@channels_last_option
@compile_option
@click.option("--decode", default="cpu", show_default=True, type=click.Choice(["cpu", "gpu"]),
              help="Where JPEGs are decoded: cpu (PIL in the workers) or gpu (nvjpeg on the CUDA device; the "
                   "workers only read files). GPU-decoded pixels differ slightly: such records rank apart.")
@click.option("--nonfinite", default="error", show_default=True, type=click.Choice(["error", "wrong"]),
              help="NaN or infinite logits: error (the model fails, the others finish) or wrong (each such image "
                   "counts as a wrong prediction: its row becomes logits 0 with -100 at its class, so top-1/top-5 "
                   "wrong, NLL ~100 + ln(classes - 1), confidence 1/(classes - 1); counted per variant and in "
                   "total in the record, one warning line per variant; a non-zero count ranks apart).")
@click.option("--task", "--shard", "task", metavar="i/N",
              help="Job-array task i of N: evaluate slice i of every variant and write a task record "
                   "(merge them with robench merge); auto: this Slurm array element (SLURM_ARRAY_TASK_ID/COUNT). "
                   "--shard is the old name.")
@click.option("--skip-bad-images", is_flag=True, help="Skip undecodable files and list them in the record.")
@click.option("--input-size", type=click.IntRange(16, 1024), help="Override the model's input size (16-1024 px).")
@click.option("--crop-pct", type=FiniteFloatRange(0.05, 1.0), help="Override the model's crop fraction.")
@click.option("--interpolation", type=click.Choice(["bilinear", "bicubic", "nearest"]), help="Override resize interpolation.")
@click.option("--save-predictions", is_flag=True,
              help="Also write per-sample top-5 predictions to OUT/<model>/<suite>.predictions.parquet.")
@click.option("--progress-every", default=50, show_default=True, type=click.IntRange(0),
              help="Batches between progress files inside a variant (a killed run resumes there); 0: none.")
@click.option("--checkpoint-every", type=click.IntRange(0), hidden=True,
              help="The old name of --progress-every (deprecated: robench train's --checkpoint-every counts epochs).")
@click.option("--verify", is_flag=True, help="Fingerprint the data by content (reads it all once more): an image "
                                              "rewritten with the same size and time is new data too.")
@click.option("--dist-timeout", type=FiniteFloatRange(min=1), metavar="SECONDS",
              help="torchrun: how long a rank waits for the others before failing with one line (default 1800).")
@no_progress_option
@click.pass_context
def command(ctx, **flags):
    """Evaluate MODEL(s) on SUITE(s); records go to OUT/<model>/<suite>.json.

    \b
    robench eval -m resnet50.a1_in1k -s imagenet-c -r /data/imagenet-c
    robench eval -m resnet50.a1_in1k -m tv:resnet50 -s paper --data-dir /data
    robench eval --config run.toml
    """
    from robench.engine import EvalOptions, evaluate_suites
    from robench.models import load_model
    from robench.results import read_record
    from robench.run_config import as_text, stored

    config = resolved(ctx, flags)
    if config["print_config"]:
        click.echo(as_text(config), nl=False)
        return
    located = checked_inputs(config)
    overrides = {k: config[k] for k in ("input_size", "crop_pct", "interpolation")}
    loaded = [load_model(spec, **overrides) for spec in config["models"]]
    options = EvalOptions(batch_size=config["batch_size"], workers=config["workers"], device=config["device"],
                          threads=config["threads"], precision=config["precision"],
                          channels_last=config["channels_last"], compile=config["compile"],
                          skip_bad_images=config["skip_bad_images"], task=parse_task(config["task"]),
                          save_predictions=config["save_predictions"], progress_every=config["progress_every"],
                          progress=not config["no_progress"], config=stored(config),
                          dist_timeout=config["dist_timeout"], decode=config["decode"],
                          verify=config["verify"], nonfinite=config["nonfinite"])
    paths = evaluate_suites(loaded, located, config["out"], options=options)
    for path in paths:
        print_summary(read_record(path), path)
    if len(located) > 1 and paths and not options.task:
        print_report(paths)
    failed = [m for m in loaded if m.failure is not None]
    for model in failed:
        click.echo(f"error: model {model.name} failed on {model.failure}; its records were not written", err=True)
    if failed:
        raise SystemExit(1)


def checked_inputs(config, out_writable=True):
    """What can be checked before any model loads (``robench submit`` checks it before anything is queued):
    models given, the decoder available, every suite's data found and scanned, --out writable (which creates
    it: ``out_writable=False`` for a dry run, which writes nothing). Returns the ``Located`` suites."""
    from robench.datasets.collections import expand_suites
    from robench.datasets.locate import locate
    from robench.engine.gpu_decode import check_decode
    from robench.fileio import check_out_dir

    if not config["models"]:
        raise click.UsageError("give at least one --model (or models = [...] in --config)")
    check_decode(config["decode"], config["device"])  # --decode gpu without CUDA: one line, before any work
    names, optional = expand_suites(config["suites"] or ("imagenet",))
    located = locate(names, optional, data_dir=config["data_dir"], roots=config["roots"],
                     select=parse_list(config["select"]), skip_missing=config["skip_missing"],
                     echo=lambda line: click.echo(line, err=True), labels=config["labels"])
    if out_writable:
        check_out_dir(config["out"])
    return located


def resolved(ctx, flags):
    """The flags over the --config file's settings; only flags typed on the command line override it.
    A renamed setting (``RENAMED``) is read under its old name too, with one deprecation line."""
    from click.core import ParameterSource

    from robench.run_config import read_config, resolve

    given = {name for name in flags if ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE}
    if not flags["config"]:
        return _renamed(dict(flags), given, {})
    where = f"config file {flags['config']}"
    settings = read_config(flags["config"])
    config = resolve(settings, flags, given, set(flags) - {"config", "print_config"}, where=where,
                     convert=_as_flag(ctx, where))
    return _renamed(config, given, settings, where)


def _renamed(config, given, settings, where=None):
    """``config`` with each old setting's value moved to its new name (and the old name gone)."""
    from robench.errors import RobenchError

    for old, new in RENAMED.items():
        value = config.pop(old, None)
        if value is None:
            continue
        on_command_line = old in given
        said = f"--{old.replace('_', '-')}" if on_command_line else f"{where}: {old}"
        wanted = f"--{new.replace('_', '-')}" if on_command_line else new
        if new in (given if on_command_line else settings):  # both at one level: which one was meant?
            raise RobenchError(f"{said} is the old name of {wanted}: give only {wanted}")
        click.echo(f"warning: {said} is deprecated in robench eval: use {wanted} (batches between progress "
                   "files; robench train's --checkpoint-every counts epochs)", err=True)
        if on_command_line or new not in given:  # a flag typed on the command line wins over the file
            config[new] = value
    return config


def _as_flag(ctx, where):
    """A config file value checked and converted by its flag's own click type (ranges, choices, numbers)."""
    from robench.errors import RobenchError

    params = {p.name: p for p in ctx.command.params}

    def convert(key, value):
        from robench.commands.common import strict_file_value

        param = params[key]
        ok, checked = strict_file_value(param, value)
        if not ok:
            raise RobenchError(f"{where}: {key} {checked}")
        if isinstance(param.type, click.Choice) and value not in param.type.choices:
            *head, last = param.type.choices
            raise RobenchError(f"{where}: {key} must be {', '.join(head)} or {last}, not {value!r}")
        try:
            return param.type_cast_value(ctx, value)
        except click.BadParameter as e:
            raise RobenchError(f"{where}: {key}: {e.message}") from None

    return convert


def print_report(paths):
    """The paper-style table of this run's records (the one ``robench report`` prints)."""
    from robench.report import render, report_frame
    from robench.results import read_record

    click.echo("\n" + render(report_frame([read_record(p) for p in paths]), "table"))


def print_summary(record, path):
    """The record's variants with the values of its metric set (declared, so a new metric shows here
    too), and its suite-level numbers."""
    from robench.metrics.base import METRICS

    names = (record.get("metric_set") or {}).get("metrics") or []
    values = [v for n in names if n in METRICS for v in METRICS.get(n).values if v.name != "error"]
    rows = [[v["name"], v["n_seen"], *[v["metrics"].get(x.name) for x in values]] for v in record["variants"]]
    click.echo(f"\n{record['model']['name']} on {record['suite']['name']} -> {path}")
    if len(rows) > 12:
        n = sum(r[1] for r in rows)
        shown = [(x, [r[2 + i] for r in rows if r[2 + i] is not None]) for i, x in enumerate(values)]
        click.echo(f"{len(rows)} variants, {n} images, mean over variants: "
                   + ", ".join(f"{x.header or x.name} {sum(v) / len(v):.2f}" for x, v in shown if v))
    else:
        echo_table(rows, ["variant", "images", *[x.header or x.name for x in values]])
    for key, value in (record.get("aggregates") or {}).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            click.echo(f"{key}: {value}" if isinstance(value, int) else f"{key}: {value:.2f}")  # a count: as is
