"""``robench eval``: evaluate models on a suite and write one record per model."""
import os

import click

from robench.commands.common import echo_table, parse_list, parse_task


@click.command("eval")
@click.option("--model", "-m", "models", multiple=True, required=True,
              help="Model spec (repeatable): timm name, tv:NAME, module:factory, ARCH@weights, checkpoint path.")
@click.option("--suite", "-s", default="imagenet", show_default=True, help="Benchmark suite (robench list suites).")
@click.option("--root", "-r", required=True, type=click.Path(), help="Data root: wnid folders or a robench shard set.")
@click.option("--out", "-o", default="results", show_default=True, type=click.Path(), help="Output directory.")
@click.option("--select", help="Comma-separated subset of variants (suite-specific, e.g. fog,snow or fog/3).")
@click.option("--batch-size", "-b", default=64, show_default=True, type=click.IntRange(1))
@click.option("--workers", "-j", default=min(8, os.cpu_count() or 1), show_default=True, type=click.IntRange(0))
@click.option("--device", default="auto", show_default=True, type=click.Choice(["auto", "cpu", "cuda", "xla"]))
@click.option("--threads", type=click.IntRange(1),
              help="CPU only: batches whose forward passes run at once, one thread each "
                   "(default: one per core, at most 16). Fewer use less memory; the numbers do not change.")
@click.option("--precision", default="fp32", show_default=True, type=click.Choice(["fp32", "bf16", "fp16"]))
@click.option("--channels-last", is_flag=True, help="Run models in channels_last memory format.")
@click.option("--compile", "compile_models", is_flag=True, help="torch.compile the models (pays off on long runs).")
@click.option("--task", "--shard", "task", metavar="i/N",
              help="Job-array task i of N: evaluate slice i of every variant and write a partial record "
                   "(merge them with robench merge). --shard is the old name.")
@click.option("--skip-bad-images", is_flag=True, help="Skip undecodable files and list them in the record.")
@click.option("--input-size", type=click.IntRange(1), help="Override the model's input size.")
@click.option("--crop-pct", type=click.FloatRange(0.05, 1.0), help="Override the model's crop fraction.")
@click.option("--interpolation", type=click.Choice(["bilinear", "bicubic", "nearest"]), help="Override resize interpolation.")
@click.option("--save-predictions", is_flag=True,
              help="Also write per-sample top-5 predictions to OUT/<model>/<suite>.predictions.parquet.")
@click.option("--progress-every", "--checkpoint-every", "progress_every", default=50, show_default=True,
              type=click.IntRange(0), help="Batches between progress files inside a variant (a killed run resumes "
                                           "there); 0: none. --checkpoint-every is the old name.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def command(models, suite, root, out, select, batch_size, workers, device, threads, precision, channels_last,
            compile_models, task, skip_bad_images, input_size, crop_pct, interpolation, save_predictions,
            progress_every, no_progress):
    """Evaluate MODEL(s) on SUITE under ROOT; records go to OUT/<model>/<suite>.json."""
    from robench.datasets import get_suite
    from robench.engine import EvalOptions, evaluate
    from robench.models import load_model
    from robench.results import read_record

    suite_obj = get_suite(suite)
    overrides = {"input_size": input_size, "crop_pct": crop_pct, "interpolation": interpolation}
    loaded = [load_model(spec, **overrides) for spec in models]
    options = EvalOptions(batch_size=batch_size, workers=workers, device=device, threads=threads,
                          precision=precision, channels_last=channels_last, compile=compile_models,
                          skip_bad_images=skip_bad_images, task=parse_task(task),
                          save_predictions=save_predictions, progress_every=progress_every,
                          progress=not no_progress)
    paths = evaluate(loaded, suite_obj, root, out, select=parse_list(select), options=options)
    for path in paths:
        print_summary(read_record(path), path)


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
            click.echo(f"{key}: {value:.2f}")
