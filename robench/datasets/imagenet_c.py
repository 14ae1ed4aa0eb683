"""ImageNet-C (Hendrycks & Dietterich, 2019): ``<root>/<corruption>/<severity 1-5>/<wnid>/*.JPEG``.

The 15 benchmark corruptions x 5 severities are the benchmark (mCE, mean error); the 4 extra
corruptions are evaluated when their folders are present and reported apart. The released images
are 224x224 crops already, so they are used without resize or crop (``resize = False``).

``--select`` (comma-separated, a union) picks cells; every cell it names must exist:
  ``fog`` (its 5 severities), ``fog/3`` (one cell), ``3`` (severity 3 of the 15, plus the extra
  corruptions present), ``noise|blur|weather|digital`` (a group), ``extra`` (the 4 extra),
  ``benchmark`` (the 15 x 5), ``all`` (the default: 15 x 5 plus the extra corruptions present);
  a group or ``benchmark``/``extra``/``all`` may take a severity too: ``weather/5``.
Without ``--select`` every benchmark cell must be there: a missing one is an error that lists it.
A root made by robench (``robench data synth``) holds ``robench-generated.json``: its cells are
marked ``protocol: generated`` and its records never share a column with the released data.
"""
import difflib
import json
import os

from robench.datasets.base import Suite, Variant, scan_wnid_folders
from robench.datasets.suite_helpers import (GENERATED_MARKER, as_stored_preprocessing, companion_record,
                                            find_data_dir, top1_fraction)
from robench.errors import DatasetLayoutError, RobenchError
from robench.metrics import imagenet_c as metrics

CELL_SIZE = 50_000
SEVERITIES = metrics.SEVERITIES


def _all_corruptions():
    return metrics.benchmark_corruptions() + metrics.extra_corruptions()


def expand_token(token):
    """One ``--select`` item -> [(corruption, severity, required)]; extras asked for only implicitly
    (``all``, a bare severity) are not required."""
    text = token.strip().strip("/")
    if text.startswith("imagenet-c/"):
        text = text[len("imagenet-c/"):]
    head, _, tail = text.partition("/")
    if head.isdigit() and not tail:
        head, tail = "all", head
    severities = SEVERITIES
    if tail:
        if not (tail.isdigit() and int(tail) in SEVERITIES):
            raise RobenchError(f"imagenet-c --select '{token}': severity must be 1..5")
        severities = (int(tail),)
    bench, extra = metrics.benchmark_corruptions(), metrics.extra_corruptions()
    named = {"all": [(c, True) for c in bench] + [(c, False) for c in extra],
             "benchmark": [(c, True) for c in bench], "extra": [(c, True) for c in extra]}
    for group in metrics.GROUPS:
        named[group] = [(c, True) for c in bench if metrics.corruption_group(c) == group]
    for c in bench + extra:
        named[c] = [(c, True)]
    if head not in named:
        close = difflib.get_close_matches(head, list(named), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise RobenchError(f"imagenet-c --select '{token}' names no corruption, group or severity.{hint} "
                           f"Use e.g. fog, fog/3, 3, weather, extra (see robench list suites)")
    return [(c, s, required) for c, required in named[head] for s in severities]


def choose_cells(select, present):
    """The (corruption, severity) cells to evaluate, in benchmark order; ``present`` is the set of
    cells found. Raises DatasetLayoutError listing every asked-for cell that is missing."""
    tokens = select or ["all"]
    corruptions_present = {c for c, _ in present}
    wanted = {}
    for token in tokens:
        for c, s, required in expand_token(token):
            if required or c in corruptions_present:  # an extra corruption, once there, must be whole
                wanted[(c, s)] = True
    order = {c: i for i, c in enumerate(_all_corruptions())}
    cells = sorted(wanted, key=lambda cell: (order[cell[0]], cell[1]))
    missing = [cell for cell in cells if cell not in present]
    return cells, missing


class ImageNetCSuite(Suite):
    name = "imagenet-c"
    version = "1"
    description = ("ImageNet-C: 15 corruptions x 5 severities (+4 extra, apart), 224px as released, no resize; "
                   "mCE, relative mCE (AlexNet-normalised), mean error")
    layout = "<corruption>/<severity 1-5>/<wnid>/*.JPEG (50,000 per cell, 224x224)"
    resize = False
    n_classes = 1000

    def scan(self, root, select=None):
        root = find_data_dir(root, ["imagenet-c", "ImageNet-C"])
        present = {(c, s) for c in _all_corruptions() for s in SEVERITIES
                   if os.path.isdir(os.path.join(root, c, str(s)))}
        if not present:
            raise DatasetLayoutError(
                f"{root} holds no ImageNet-C corruption folders (expected {root}/<corruption>/<severity>/"
                f"<wnid>/*.JPEG with corruptions such as {', '.join(_all_corruptions()[:3])}, ...)")
        cells, missing = choose_cells(select, present)
        if missing:
            self._raise_missing(missing, select, f"{root}/<corruption>/<severity>/<wnid>/*.JPEG")
        info = _generated_info(root)
        return [Variant(f"{self.name}/{c}/{s}",
                        scan_wnid_folders(os.path.join(root, c, str(s)), what=f"{c}/{s}/<wnid>/*.JPEG"),
                        n_expected=CELL_SIZE, info=_cell_info(c, s, info), resize=self.resize)
                for c, s in cells]

    def select_variants(self, variants, select):
        """The same cell choice for a shard set as for folders (used by the shard reader)."""
        by_cell = {(v.info.get("corruption"), v.info.get("severity")): v for v in variants}
        cells, missing = choose_cells(select, set(by_cell))
        if missing:
            self._raise_missing(missing, select, "its manifest")
        return [by_cell[cell] for cell in cells]

    def _raise_missing(self, missing, select, where):
        listed = ", ".join(f"{c}/{s}" for c, s in missing[:12]) + (" ..." if len(missing) > 12 else "")
        hint = ("" if select else "; to evaluate only what is there, pass --select (e.g. fog,snow/3)")
        raise DatasetLayoutError(f"imagenet-c: {len(missing)} cell(s) missing ({listed}) in {where}{hint}")

    def aggregates(self, variant_metrics, context=None):
        """mCE, relative mCE, mean error and the rest (robench.metrics.imagenet_c), from the
        corruptions whose 5 severities were all evaluated; clean error from the imagenet record."""
        errors = _errors_by_corruption(variant_metrics)
        protocols = {v.get("protocol", "released") for v in variant_metrics} or {"released"}
        protocol = protocols.pop() if len(protocols) == 1 else "mixed"
        notes = []
        clean, note = companion_record(context, "imagenet")
        clean_error = None
        if clean is not None:
            accuracy = top1_fraction(clean["variants"][0])
            clean_error = None if accuracy is None else 1.0 - accuracy
        else:
            notes.append(f"relative CE needs the clean error: {note}")
        out = metrics.aggregates(errors, clean_error, protocol)
        sizes = {v.get("image_size") for v in variant_metrics if v.get("image_size")}
        out["preprocessing"] = as_stored_preprocessing(context, sizes.pop() if len(sizes) == 1 else 224)
        out["definitions"]["preprocessing"] = ("how the stored images reached the model: no crop; resized "
                                               "only when the model's input size differs (then not the benchmark)")
        if out["mce"] is None:
            notes.append("mCE and the mean error need all 15 benchmark corruptions x 5 severities")
        out["notes"] = notes
        return out


def _errors_by_corruption(entries):
    """corruption -> five top-1 errors (fractions), for corruptions with all five severities."""
    cells = {}
    for entry in entries:
        accuracy = top1_fraction(entry)
        if accuracy is not None and "corruption" in entry:
            cells.setdefault(entry["corruption"], {})[int(entry["severity"])] = 1.0 - accuracy
    return {c: [per[s] for s in SEVERITIES] for c, per in cells.items() if set(per) == set(SEVERITIES)}


def _cell_info(corruption, severity, generated):
    info = {"corruption": corruption, "severity": severity, "group": metrics.corruption_group(corruption),
            "protocol": "generated" if generated else "released"}
    if generated and generated.get("size"):
        info["image_size"] = int(generated["size"])
    return info


def _generated_info(root):
    """The marker robench writes at the root of data it generated (None for released data)."""
    path = os.path.join(root, GENERATED_MARKER)
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise DatasetLayoutError(f"{path} is not readable JSON ({e}); delete it if this is released data") from None


def write_generated_marker(root, **details):
    """Marks ``root`` as generated (e.g. by imagecorruptions), so its records say protocol 'generated'."""
    from robench.results import atomic_write_json

    atomic_write_json(os.path.join(root, GENERATED_MARKER), {"generated_by": "robench", **details})
