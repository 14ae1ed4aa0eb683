"""``robench parity``: the same model on the same data with the CPU and the GPU JPEG decoder, compared."""
import json
import os

import click

from robench.commands.common import (data_dir_option, echo_table, eval_batch_size_option, eval_precision_option,
                                     no_progress_option, roots_option, select_option, suites_option, workers_option)


@click.command("parity")
@click.option("--model", "-m", "model", required=True, help="Model spec (one).")
@suites_option
@roots_option
@data_dir_option
@select_option
@click.option("--out", "-o", default="parity", show_default=True, type=click.Path(),
              help="Where both runs' records and predictions go (OUT/cpu, OUT/gpu) and OUT/parity.json.")
@eval_batch_size_option
@workers_option
@eval_precision_option
@no_progress_option
def command(model, suites, roots, data_dir, select, out, batch_size, workers, precision, no_progress):
    """Evaluate MODEL with --decode cpu and --decode gpu and report how much the decoder changes.

    Prints, per suite and overall, the top-1 of each decoder, their difference (percentage points)
    and the fraction of samples whose top-1 prediction changed. Needs a CUDA device.

    \b
    robench parity -m resnet50.a1_in1k -r /data/imagenet
    """
    from robench.commands.common import parse_list
    from robench.datasets.collections import expand_suites
    from robench.datasets.locate import locate
    from robench.engine import EvalOptions, evaluate_suites
    from robench.engine.gpu_decode import cuda_available
    from robench.errors import RobenchError
    from robench.fileio import check_out_dir
    from robench.models import load_model

    if not cuda_available():
        raise RobenchError("robench parity compares the CPU and the GPU (nvjpeg) JPEG decoders and needs a CUDA "
                           "device; torch sees none (torch.cuda.is_available() is False)")
    names, optional = expand_suites(suites or ("imagenet",))
    located = locate(names, optional, data_dir=data_dir, roots=roots, select=parse_list(select),
                     echo=lambda line: click.echo(line, err=True))
    check_out_dir(out)
    loaded = load_model(model)
    paths = {}
    for decode in ("cpu", "gpu"):
        options = EvalOptions(batch_size=batch_size, workers=workers, device="auto", precision=precision,
                              save_predictions=True, progress=not no_progress, decode=decode)
        paths[decode] = evaluate_suites([loaded], located, os.path.join(out, decode), options=options)
        if loaded.failure is not None:
            raise RobenchError(f"model {loaded.name} failed on {loaded.failure} (--decode {decode})")
    rows = [compare_predictions(_predictions(a), _predictions(b), suite=item.suite.name)
            for item, a, b in zip(located, paths["cpu"], paths["gpu"])]
    if len(rows) > 1:
        rows.append(overall(rows))
    summary = {"model": loaded.name, "precision": precision, "rows": rows}
    with open(os.path.join(out, "parity.json"), "w") as f:
        json.dump(summary, f, indent=1)
    echo_table([[r["suite"], r["images"], r["top1_cpu"], r["top1_gpu"], r["top1_diff"], r["changed_pct"]]
                for r in rows], ["suite", "images", "top-1 cpu", "top-1 gpu", "gpu - cpu (pp)", "changed (%)"])
    click.echo(f"wrote {os.path.join(out, 'parity.json')}")


def _predictions(record_path):
    return record_path[: -len(".json")] + ".predictions.parquet"


def compare_predictions(path_a, path_b, suite=""):
    """Top-1 of two predictions files of the same data (A: cpu, B: gpu), their difference in
    percentage points and the share of samples whose top-1 class differs, matched on (variant, index)."""
    import pandas as pd

    a, b = pd.read_parquet(path_a), pd.read_parquet(path_b)
    joined = a.merge(b, on=["variant", "index"], suffixes=("_a", "_b"), how="inner")
    if len(joined) != len(a) or len(joined) != len(b):
        raise ValueError(f"{path_a} and {path_b} do not hold the same samples ({len(a)}, {len(b)}, {len(joined)} "
                         "in common)")
    top_a = joined["top5_class_a"].map(lambda v: int(v[0]))
    top_b = joined["top5_class_b"].map(lambda v: int(v[0]))
    n = len(joined)
    top1_a = 100.0 * float((top_a == joined["label_a"]).sum()) / n if n else None
    top1_b = 100.0 * float((top_b == joined["label_b"]).sum()) / n if n else None
    changed = int((top_a != top_b).sum())
    return {"suite": suite, "images": n, "top1_cpu": top1_a, "top1_gpu": top1_b,
            "top1_diff": None if n == 0 else top1_b - top1_a, "changed": changed,
            "changed_pct": 100.0 * changed / n if n else None}


def overall(rows):
    n = sum(r["images"] for r in rows)
    hits_a = sum(r["top1_cpu"] * r["images"] / 100 for r in rows if r["images"])
    hits_b = sum(r["top1_gpu"] * r["images"] / 100 for r in rows if r["images"])
    changed = sum(r["changed"] for r in rows)
    return {"suite": "all", "images": n, "top1_cpu": 100 * hits_a / n, "top1_gpu": 100 * hits_b / n,
            "top1_diff": 100 * (hits_b - hits_a) / n, "changed": changed, "changed_pct": 100 * changed / n}
