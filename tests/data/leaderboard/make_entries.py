"""Writes the fixture records under entries/ and bad/ (run once; the JSON files are committed).

The records have exactly the shape `robench eval` writes (copied from a real record of
`robench eval -m robench.models.oracle:colour_oracle`), with made-up but self-consistent numbers:
every metric comes from integer counts over the real set sizes, and the ImageNet-C aggregates are
computed from the cells with the published AlexNet errors. Usage: python make_entries.py
"""
import copy
import json
import math
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ALEXNET = {  # corruption: (group, s1..s5 error as a fraction), hendrycks/robustness
    "gaussian_noise": ("noise", 0.69528, 0.82542, 0.93554, 0.98138, 0.99452),
    "shot_noise": ("noise", 0.71224, 0.85108, 0.93574, 0.98182, 0.99146),
    "impulse_noise": ("noise", 0.78374, 0.89808, 0.94870, 0.98720, 0.99548),
    "defocus_blur": ("blur", 0.65624, 0.73202, 0.85036, 0.91364, 0.94714),
    "glass_blur": ("blur", 0.64308, 0.75054, 0.88806, 0.91622, 0.93344),
    "motion_blur": ("blur", 0.58430, 0.70048, 0.82108, 0.89750, 0.92638),
    "zoom_blur": ("blur", 0.70008, 0.76992, 0.80784, 0.84198, 0.87198),
    "snow": ("weather", 0.71726, 0.88392, 0.86468, 0.91870, 0.94952),
    "frost": ("weather", 0.61390, 0.79734, 0.88790, 0.89942, 0.93430),
    "fog": ("weather", 0.67474, 0.76050, 0.84378, 0.87260, 0.94500),
    "brightness": ("weather", 0.45140, 0.48502, 0.54048, 0.62166, 0.72440),
    "contrast": ("digital", 0.64548, 0.76150, 0.88874, 0.97760, 0.99270),
    "elastic_transform": ("digital", 0.52596, 0.70116, 0.55686, 0.64076, 0.80554),
    "pixelate": ("digital", 0.52218, 0.54620, 0.73728, 0.87092, 0.91262),
    "jpeg_compression": ("digital", 0.51002, 0.54718, 0.57294, 0.65458, 0.74778),
    "speckle_noise": ("extra", 0.66192, 0.74440, 0.90246, 0.94548, 0.97268),
    "gaussian_blur": ("extra", 0.54732, 0.70444, 0.82574, 0.89864, 0.95940),
    "spatter": ("extra", 0.47196, 0.62194, 0.75052, 0.84132, 0.90182),
    "saturate": ("extra", 0.59342, 0.65514, 0.51174, 0.70834, 0.82260),
}
ALEXNET_CLEAN = 0.43478
BENCHMARK = [c for c, v in ALEXNET.items() if v[0] != "extra"]
EXTRA = [c for c, v in ALEXNET.items() if v[0] == "extra"]

BASE = {
    "schema_version": 1, "robench_version": "0.1.0", "created": "2026-11-24T17:13:29+00:00",
    "run": {"device": "cuda", "precision": "fp32", "world_size": 8, "batch_size": 256, "shard": None},
    "env": {"python": "3.11.7", "torch": "2.14.1+cu130", "timm": "1.0.31", "robench": "0.1.0"},
}
DESCRIPTIONS = {"imagenet": (True, None), "imagenet-c": (False, None), "imagenet-r": (True, "imagenet_r"),
                "stylized-imagenet": (False, None), "imagenet-sketch": (True, None),
                "imagenet-a": (True, "imagenet_a"), "imagenet-v2": (True, None), "imagenet-c-alt": (False, None),
                "imagenet-val-r200": (True, "imagenet_r")}


def model(name, params, weights="pretrained", size=224, **extra):
    spec = name if weights == "pretrained" else f"{name}@{weights}"
    return {"spec": spec, "name": name, "params": params, "weights": weights, "checkpoint_sha256": None,
            "data_config": {"input_size": [3, size, size], "interpolation": "bicubic", "mean": [0.485, 0.456, 0.406],
                            "std": [0.229, 0.224, 0.225], "crop_pct": 0.875 if size == 224 else 1.0,
                            "crop_mode": "center"}, **extra}


def variant(name, n, correct1, n_reference=None, skipped=(), **info):
    seen = n - len(skipped)
    top1 = 100.0 * correct1 / seen
    correct5 = min(seen, round(correct1 + 0.6 * (seen - correct1)))
    nll_sum = seen * (0.4 + 3.0 * (1 - correct1 / seen))
    bins = [0.0] * 15
    bins[min(14, int(15 * correct1 / seen))] = float(seen)
    return {"name": name, **info, "n_expected": n, "n_reference": n_reference or n, "n_seen": seen,
            "metrics": {"top1": top1, "top5": 100.0 * correct5 / seen, "error": 100.0 - top1,
                        "nll": nll_sum / seen, "ece": 3.1},
            "state": {"n": float(seen), "correct1": float(correct1), "correct5": float(correct5), "nll_sum": nll_sum,
                      "bin_count": bins, "bin_conf": [b * 0.8 for b in bins],
                      "bin_correct": [b * correct1 / seen for b in bins]},
            "skipped": [[f"n01440764/bad_{i}.JPEG", "cannot identify image file"] for i in range(len(skipped))]}


def record(model_info, suite, variants, aggregates=None, protocol_hash="0123456789abcdef"):
    resize, subset = DESCRIPTIONS[suite]
    r = copy.deepcopy(BASE)
    r["model"] = model_info
    r["suite"] = {"name": suite, "version": "1", "root": f"/data/{suite}", "fingerprint": "5d41402abc4b2a76",
                  "label_subset": subset, "resize": resize, "description": f"{suite} (fixture)"}
    r["protocol_hash"], r["variants"], r["aggregates"] = protocol_hash, variants, aggregates or {}
    keys = ["schema_version", "robench_version", "created", "model", "suite", "run", "protocol_hash", "variants",
            "aggregates", "env"]
    return {k: r[k] for k in keys}


def single(model_info, suite, n, top1, **kw):
    return record(model_info, suite, [variant(f"{suite}/val", n, round(n * top1 / 100), **kw)])


def imagenet_c(model_info, scale, clean_error, protocol="released"):
    """Cells whose error is AlexNet's times ``scale`` (times a per-corruption wobble), from integer counts."""
    variants, cells = [], {}
    for i, (c, (group, *alex)) in enumerate(ALEXNET.items()):
        for s, a in enumerate(alex, start=1):
            error = min(0.99, a * scale * (1 + 0.08 * math.sin(i + s)))
            correct = round(50000 * (1 - error))
            v = variant(f"imagenet-c/{c}/{s}", 50000, correct, corruption=c, severity=s)
            variants.append(v)
            cells[(c, s)] = v["metrics"]["error"]
    per = {c: sum(cells[(c, s)] for s in range(1, 6)) / 5 for c in ALEXNET}
    ce = {c: 100 * sum(cells[(c, s)] for s in range(1, 6)) / (100 * sum(ALEXNET[c][1:])) for c in BENCHMARK}
    rel = {c: 100 * sum(cells[(c, s)] - clean_error for s in range(1, 6))
           / (100 * sum(a - ALEXNET_CLEAN for a in ALEXNET[c][1:])) for c in BENCHMARK}
    groups = {}
    for c in BENCHMARK:
        groups.setdefault(ALEXNET[c][0], []).append(per[c])
    aggregates = {
        "mean_error": sum(per[c] for c in BENCHMARK) / 15, "mce": sum(ce.values()) / 15,
        "relative_mce": sum(rel.values()) / 15, "ce": ce, "relative_ce": rel,
        "group_mean_error": {g: sum(v) / len(v) for g, v in groups.items()},
        "corruption_error": {c: per[c] for c in BENCHMARK}, "extra_mean_error": sum(per[c] for c in EXTRA) / 4,
        "extra_corruption_error": {c: per[c] for c in EXTRA}, "clean_error": clean_error, "protocol": protocol,
        "definitions": {"mean_error": "mean top-1 error over the 15 benchmark corruptions x 5 severities",
                        "mce": "mean over corruptions of summed error / AlexNet's summed error"},
    }
    return record(model_info, "imagenet-c", variants, aggregates)


def write(path, obj, indent=1):
    path = os.path.join(HERE, path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=indent)
        f.write("\n")


def main():
    rr = model("robust_resnet_up_inverted_dw_small", 34_425_064)
    write("entries/robust_resnet_up_inverted_dw_small/imagenet.json", single(rr, "imagenet", 50000, 79.312))
    write("entries/robust_resnet_up_inverted_dw_small/imagenet-c.json", imagenet_c(rr, 0.5185, 20.688), indent=None)
    write("entries/robust_resnet_up_inverted_dw_small/imagenet-r.json",
          single(rr, "imagenet-r", 30000, 48.52, skipped=["x", "y"]))
    write("entries/robust_resnet_up_inverted_dw_small/stylized-imagenet.json",
          single(rr, "stylized-imagenet", 50000, 20.05))
    write("entries/robust_resnet_up_inverted_dw_small/imagenet-sketch.json",
          single(rr, "imagenet-sketch", 50889, 35.11))
    write("entries/robust_resnet_up_inverted_dw_small/imagenet-val-r200.json",
          single(rr, "imagenet-val-r200", 10000, 93.07))

    deit = model("deit_small_patch16_224", 22_050_664)
    write("entries/deit_small_patch16_224/imagenet.json", single(deit, "imagenet", 50000, 79.856))
    write("entries/deit_small_patch16_224/imagenet-c.json", imagenet_c(deit, 0.5431, 20.144), indent=None)
    write("entries/deit_small_patch16_224/imagenet-a.json", single(deit, "imagenet-a", 7500, 19.64))
    v2 = [variant(f"imagenet-v2/{name}", 10000, correct) for name, correct in
          (("matched-frequency", 6862), ("threshold-0.7", 7781), ("top-images", 8299))]
    write("entries/deit_small_patch16_224/imagenet-v2.json", record(deit, "imagenet-v2", v2))
    bar = record(deit, "imagenet-c-alt", [variant("imagenet-c-alt/blue_noise_sample/3", 50000, 31000)],
                 {"mean_error": 38.0})
    write("entries/deit_small_patch16_224/imagenet-c-alt.json", bar)

    r50 = model("resnet50", 25_557_032)
    write("entries/resnet50.imagenet.json", single(r50, "imagenet", 50000, 80.374))
    write("entries/resnet50.imagenet-c-generated.json", imagenet_c(r50, 0.71, 19.626, "generated"), indent=None)

    training = {"recipe": "demo", "epochs": 2, "epochs_planned": 2, "paper_recipe": False, "overrides": {},
                "global_batch": 32, "peak_lr": 0.002}  # the model.training section `robench train` writes
    demo = model("robust_resnet_dw_small", 38_558_760, weights="file", size=64, training=training)
    demo["checkpoint_sha256"] = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    write("entries/demo-robust_resnet_dw_small.imagenet.json",
          single(demo, "imagenet", 50, 12.0, n_reference=50000))

    rand = model("robust_resnet_dw_small", 38_558_760, weights="random")
    write("entries/random-robust_resnet_dw_small.imagenet.json", single(rand, "imagenet", 50000, 0.1))

    unexplained = single(rr, "imagenet", 50000, 79.312)
    unexplained["variants"][0]["n_seen"] = 49990
    write("bad/unexplained_count.json", unexplained)
    future = single(rr, "imagenet", 50000, 79.312)
    future["schema_version"] = 99
    write("bad/future_schema.json", future)
    with open(os.path.join(HERE, "bad/malformed.json"), "w") as f:
        f.write('{"schema_version": 1, "model": {"name": "x"}, "variants": [\n')


if __name__ == "__main__":
    main()
