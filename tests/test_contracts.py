"""Contract tests over every registered plug-in: each suite of ``suite_names()``, each metric of
``METRICS`` and each model source of ``MODEL_SOURCES`` is checked here by what every plug-in of its
kind promises, so one added later (built in or through an entry point) is covered without an edit.

- A suite: a missing, file or empty root is a one-line DatasetLayoutError naming the path and what was
  expected; its generated data (``write_generated``, standing in for the released download, in its
  real layout) evaluates with the colour oracle to a record that passes ``Record.from_json``,
  round-trips through JSON, counts every generated image once and fills the suite's declared columns;
  a ``--task i/2`` job array merged by ``robench merge`` is the one-process record; ``robench list
  suites`` shows it.
- A metric: its additive state merges exactly (two parts merged as ``robench merge`` does, or summed
  as ranks do, equal one update over the whole), an empty state computes to None values, and the
  state survives JSON.
- A model source: its name resolves, an unknown model under it is a one-line error, and each of
  robench's own sources builds a (N, 1000)-logit model offline.
"""
import json
import math

import pytest
import torch
from click.testing import CliRunner

from engine_support import ORACLE, comparable, in_process, load
from robench.cli import cli
from robench.datasets import get_suite, suite_names
from robench.errors import DatasetLayoutError, RobenchError
from robench.joins import index_records, joined_values
from robench.metrics.base import METRICS, MetricSet
from robench.models import load_model, parse_spec
from robench.models.sources import ALIASES, MODEL_SOURCES, ModelSource, model_source
from robench.results import Record

SUITES = suite_names()
SOURCES = MODEL_SOURCES.names()
# What `robench data synth --classes 2 --per-class 2 --size 32` passes to a suite's writer.
SMALL = {"n_classes": 2, "per_class": 2, "size": 32, "seed": 0}
# Suites whose full evaluation is slow even on SMALL data get one cell: imagenet-c-gen corrupts
# every 224 px image on the fly for each of its 95 cells (~40 ms each). Every other suite runs whole.
SELECT = {"imagenet-c-gen": "gaussian_noise/1"}
UNKNOWN = "no_such_model_zz9"


def one_line(text):
    assert "\n" not in str(text).strip() and "Traceback" not in str(text), text
    return str(text)


class Runs:
    """Each suite's generated data and its records, made once for the module (several tests read them)."""

    def __init__(self, base):
        self.base, self._data, self._records, self._merged = base, {}, {}, {}

    def data(self, name):
        """(root, images written) of the suite's generated layout."""
        if name not in self._data:
            root = self.base / name / "data"
            self._data[name] = (root, get_suite(name).write_generated(str(root), **SMALL))
        return self._data[name]

    def eval_args(self, name, out, *extra):
        select = ["--select", SELECT[name]] if name in SELECT else []
        return ["eval", "-m", ORACLE, "-s", name, "-r", str(self.data(name)[0]), "-o", str(out), "-j", "0",
                "-b", "3", "--no-progress", *select, *extra]

    def one_process(self, name):
        """(record, --out folder) of one process over the whole data."""
        if name not in self._records:
            out = self.base / name / "one"
            in_process(self.eval_args(name, out))
            self._records[name] = (load(out / "colour_oracle" / f"{name}.json"), out)
        return self._records[name]

    def merged(self, name):
        """(record, --out folder) of `--task 0/2` and `--task 1/2` merged by `robench merge`."""
        if name not in self._merged:
            out = self.base / name / "tasks"
            for i in range(2):
                in_process(self.eval_args(name, out, "--task", f"{i}/2"))
            in_process(["merge", str(out)])
            self._merged[name] = (load(out / "colour_oracle" / f"{name}.json"), out)
        return self._merged[name]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return Runs(tmp_path_factory.mktemp("contracts"))


# --- suites --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SUITES)
def test_a_missing_file_or_empty_root_is_a_one_line_layout_error(name, tmp_path):
    suite = get_suite(name)
    missing = tmp_path / "missing"
    with pytest.raises(DatasetLayoutError) as error:
        suite.variants(missing)
    message = one_line(error.value)
    assert str(missing) in message and suite.layout in message
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    with pytest.raises(DatasetLayoutError, match="is a file, not a directory") as error:
        suite.variants(a_file)
    assert str(a_file) in one_line(error.value) and suite.layout in str(error.value)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetLayoutError) as error:
        suite.variants(empty)
    assert str(empty) in one_line(error.value) and "(expected " in str(error.value)
    # the CLI prints the same line (exit code 2) before any model is loaded
    result = CliRunner().invoke(cli, ["eval", "-m", ORACLE, "-s", name, "-r", str(missing), "-o",
                                      str(tmp_path / "out"), "--no-progress"])
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [f"Error: {message}"]


@pytest.mark.parametrize("name", SUITES)
def test_generated_data_evaluates_to_a_valid_record(runs, name):
    suite = get_suite(name)
    data, _ = runs.one_process(name)
    record = Record.from_json(data, where=name)
    assert json.loads(json.dumps(record.to_json())) == data  # the typed record keeps every field as it is
    assert Record.from_json(json.loads(json.dumps(record.to_json()))) == record
    assert data["suite"]["name"] == name and data["suite"]["data_origin"] == "generated"
    written = runs.data(name)[1]
    variants = data["variants"]
    assert sum(v["n_images"] for v in variants) == written  # every generated image, once
    for v in variants:
        assert v["n_seen"] == v["n_images"] == v["state"]["n"] and v["skipped"] == [], v["name"]
    metric_set = MetricSet(suite.metrics, suite)
    assert data["metric_set"] == {"id": metric_set.id, "metrics": metric_set.names}
    declared = {value.name for value in metric_set.values}
    assert all(set(v["metrics"]) == declared for v in variants)


@pytest.mark.parametrize("name", SUITES)
def test_the_declared_columns_are_computed(runs, name):
    suite = get_suite(name)
    data, _ = runs.one_process(name)
    companions = [runs.one_process(suite.companion)[0]] if suite.companion in SUITES else []
    values = suite.column_values(data, joined_values(data, index_records([data, *companions])))
    assert set(values) == {column.id for column in suite.columns}
    for column_id, value in values.items():
        assert value is None or (isinstance(value, (int, float)) and math.isfinite(value)), column_id
        if name not in SELECT:  # the whole suite was evaluated: every column has its number
            assert value is not None, column_id


@pytest.mark.parametrize("name", SUITES)
def test_a_two_task_job_array_merges_to_the_one_process_record(runs, name):
    single, single_out = runs.one_process(name)
    merged, merged_out = runs.merged(name)
    Record.from_json(merged, where=f"merged {name}")
    assert merged["variants"] == single["variants"]  # metrics, states, counts
    # and the rest: aggregates, model, suite, protocol (but for the time, the world size, the folders)
    assert comparable(merged, merged_out) == comparable(single, single_out)


def test_list_suites_shows_every_suite_with_its_layout():
    result = CliRunner().invoke(cli, ["list", "suites"])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    for name in SUITES:
        assert name in rows and get_suite(name).layout in rows[name], name


# --- metrics -------------------------------------------------------------------------------------


def home_suite(metric):
    """The first suite whose default metric set has ``metric`` (imagenet for metrics only on request)."""
    return next((s for s in map(get_suite, SUITES) if metric in MetricSet(s.metrics, s).names),
                get_suite("imagenet"))


def random_batch(runs, metric, n=96):
    """(logits, labels, keys, scorer) like the engine's: the home suite's generated samples (their names
    and 1k labels, repeated), random 1000-way logits right about half the time, three non-finite rows."""
    from robench.engine.scoring import Scorer

    suite = home_suite(metric)
    variant = suite.variants(runs.data(suite.name)[0], [SELECT[suite.name]] if suite.name in SELECT else None)[0]
    samples = [(key, label) for key, _, label in variant.source.iter_range(0, len(variant))]
    keys = [samples[i % len(samples)][0] for i in range(n)]
    labels = torch.tensor([samples[i % len(samples)][1] for i in range(n)])
    g = torch.Generator().manual_seed(sum(map(ord, metric)))
    logits = 2.0 * torch.randn(n, 1000, generator=g)
    right = torch.rand(n, generator=g) < 0.5
    logits[right, labels[right]] += 6.0
    logits[5, 3], logits[50, :] = float("nan"), float("inf")
    logits[70, 999] = -float("inf")
    return logits, labels, keys, Scorer(suite.label_subset, nonfinite="wrong")


def updated(metric_set, scorer, logits, labels, keys, batches):
    state = metric_set.new()
    for part in batches:
        scorer.update(state, logits[part], labels[part], keys=[keys[i] for i in range(len(keys))[part]])
    return state


def assert_same_state(got, want):
    assert list(got.state) == list(want.state)
    for field, value in want.state.items():
        if torch.equal(value, value.round()):  # counts: exactly
            assert torch.equal(got.state[field], value), field
        else:  # sums of floats (on the 2**-24 grid: exact in practice)
            assert torch.allclose(got.state[field], value, rtol=0, atol=1e-12), field


def assert_same_values(got, want):
    assert list(got) == list(want)
    for name, value in want.items():
        assert (got[name] is None) == (value is None), name
        if value is not None:
            assert got[name] == pytest.approx(value, rel=1e-12, abs=1e-12), name


@pytest.mark.parametrize("metric", METRICS.names())
def test_a_metric_state_merges_exactly(runs, metric):
    metric_set = MetricSet([metric])
    logits, labels, keys, scorer = random_batch(runs, metric)
    whole = updated(metric_set, scorer, logits, labels, keys, [slice(0, None)])
    first = updated(metric_set, scorer, logits, labels, keys, [slice(0, 17), slice(17, 41)])
    second = updated(metric_set, scorer, logits, labels, keys, [slice(41, None)])
    assert whole.count == first.count + second.count == len(labels)
    # as robench merge adds task records: each part's saved state restored, then added
    as_tasks = metric_set.restore(json.loads(json.dumps(first.state_dict())))
    as_tasks.merge(metric_set.restore(json.loads(json.dumps(second.state_dict()))))
    assert_same_state(as_tasks, whole)
    # as ranks do: one flat tensor each, summed (the all-reduce)
    as_ranks = metric_set.new().load_flat(first.flat() + second.flat())
    assert_same_state(as_ranks, whole)
    assert_same_values(as_tasks.compute(), whole.compute())
    assert_same_values(as_ranks.compute(), whole.compute())


@pytest.mark.parametrize("metric", METRICS.names())
def test_a_metric_computes_its_declared_values_and_none_when_empty(runs, metric):
    metric_set = MetricSet([metric])
    declared = [value.name for value in metric_set.values]
    assert declared and len(set(declared)) == len(declared)
    assert metric_set.new().compute() == {name: None for name in declared}
    logits, labels, keys, scorer = random_batch(runs, metric)
    values = updated(metric_set, scorer, logits, labels, keys, [slice(0, None)]).compute()
    assert list(values) == declared
    assert all(v is None or (isinstance(v, (int, float)) and math.isfinite(v)) for v in values.values()), values


@pytest.mark.parametrize("metric", METRICS.names())
def test_a_metric_state_round_trips_through_json(runs, metric):
    metric_set = MetricSet([metric])
    logits, labels, keys, scorer = random_batch(runs, metric)
    state = updated(metric_set, scorer, logits, labels, keys, [slice(0, 40), slice(40, None)])
    saved = json.loads(json.dumps(state.state_dict()))
    restored = metric_set.restore(saved)  # also: the metric finds nothing wrong with its own state
    assert restored.state_dict() == state.state_dict()
    assert_same_state(restored, state)
    assert restored.compute() == state.compute()
    empty = json.loads(json.dumps(metric_set.new().state_dict()))
    assert metric_set.restore(empty).compute() == metric_set.new().compute()


def test_every_metric_fits_in_one_set():
    """State fields and value names are distinct across metrics, so any selection can be one set."""
    everything = MetricSet(METRICS.names())
    names = [value.name for value in everything.values]
    assert everything.names == METRICS.names() and len(set(names)) == len(names)


# --- model sources -------------------------------------------------------------------------------


def canonical(source):
    return ALIASES.get(source, source)


def unknown_spec(source, tmp_path):
    """A spec of ``source`` that names nothing it can build."""
    if source == "checkpoint":
        return str(tmp_path / f"{UNKNOWN}.pth")
    if source == "factory":
        return f"factory:{UNKNOWN}:build"
    return f"{source}:{UNKNOWN}@random"


@pytest.mark.parametrize("source", SOURCES)
def test_a_source_resolves_and_its_specs_select_it(source, tmp_path):
    assert MODEL_SOURCES.get(source) is not None
    resolved = model_source(source)
    assert isinstance(resolved, ModelSource) and callable(resolved.build)
    assert resolved.list_names is None or callable(resolved.list_names)
    assert parse_spec(unknown_spec(source, tmp_path)).source == canonical(source)


@pytest.mark.parametrize("source", SOURCES)
def test_an_unknown_model_of_a_source_is_a_one_line_error(runs, source, tmp_path):
    spec = unknown_spec(source, tmp_path)
    with pytest.raises(RobenchError) as error:
        load_model(spec)
    assert UNKNOWN in one_line(error.value)
    root = runs.data("imagenet")[0]
    result = CliRunner().invoke(cli, ["eval", "-m", spec, "-s", "imagenet", "-r", str(root),
                                      "-o", str(tmp_path / "out"), "--no-progress"])
    assert result.exit_code == 2 and result.output.strip().splitlines() == [f"Error: {error.value}"], result.output


@pytest.mark.parametrize("source", SOURCES)
def test_a_source_lists_specs_that_select_it_or_says_it_cannot(source):
    listing = model_source(source).list_names
    result = CliRunner().invoke(cli, ["list", "models", "--source", source, f"{UNKNOWN}*"])
    if listing is None:
        assert result.exit_code == 2 and "cannot list its models" in one_line(result.output)
        return
    assert result.exit_code == 0 and result.output == "", result.output
    assert listing(f"{UNKNOWN}*") == []
    for spec in listing("*")[:3]:
        assert parse_spec(spec).source == canonical(source), spec


TINY_CLIP = "robench-contract-clip"  # one block per tower, 16-d embeddings, 32 px images: built in seconds


@pytest.fixture
def tiny_clip(tmp_path):
    """A tiny open_clip architecture registered for one test (the released ones take minutes on a CPU);
    None where open_clip is not installed."""
    try:
        import open_clip
        from open_clip import factory
    except ImportError:
        yield None
        return
    path = tmp_path / f"{TINY_CLIP}.json"
    path.write_text(json.dumps({
        "embed_dim": 16, "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
        "text_cfg": {"context_length": 24, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}}))
    open_clip.add_model_config(str(path))
    yield f"openclip:{TINY_CLIP}@random"
    factory._MODEL_CONFIG_PATHS.remove(path)
    factory._MODEL_CONFIGS.pop(TINY_CLIP, None)


def checkpoint_spec(tmp_path):
    """A checkpoint that records its architecture, as robench train writes it (its weights, arch and
    model_kwargs; the optimizer state and the rest are not read to build the model)."""
    import timm

    torch.manual_seed(0)
    model = timm.create_model("test_resnet", pretrained=False)
    path = tmp_path / "trained.pth"
    torch.save({"format": "robench-train-checkpoint", "arch": "test_resnet", "model_kwargs": {},
                "model": model.state_dict()}, path)
    return str(path)


OFFLINE = {  # a spec each of robench's own sources builds without weights to download
    "timm": lambda request, tmp_path: "test_resnet@random",
    "torchvision": lambda request, tmp_path: "torchvision:resnet18@random",
    "tv": lambda request, tmp_path: "tv:resnet18@random",
    "factory": lambda request, tmp_path: ORACLE,
    "checkpoint": lambda request, tmp_path: checkpoint_spec(tmp_path),
    "openclip": lambda request, tmp_path: request.getfixturevalue("tiny_clip"),
}


def test_each_of_robenchs_own_sources_has_an_offline_build_here():
    own = [name for name in SOURCES if MODEL_SOURCES.origin(name) == "robench"]
    assert set(own) <= set(OFFLINE), f"add a spec that builds offline to OFFLINE for {set(own) - set(OFFLINE)}"


@pytest.mark.parametrize("source", [pytest.param(s, marks=pytest.mark.slow) if s == "openclip" else s
                                    for s in OFFLINE])  # openclip: ~6 s for the 80 x 1000 prompts of its head
def test_a_source_builds_a_1000_way_model_offline(source, request, tmp_path):
    spec = OFFLINE[source](request, tmp_path)
    if spec is None:  # openclip without open_clip installed: one line that says what to install
        with pytest.raises(RobenchError, match="pip install") as error:
            load_model("openclip:ViT-B-32@random")
        one_line(error.value)
        return
    assert parse_spec(spec).source == canonical(source)
    loaded = load_model(spec)
    assert not loaded.module.training
    x = torch.rand(2, *loaded.data_config["input_size"])
    with torch.no_grad():
        logits = loaded.module(x)
    assert logits.shape == (2, 1000) and torch.isfinite(logits).all()
    if source == "checkpoint":  # the file's weights, not a fresh initialisation
        import timm

        torch.manual_seed(0)
        with torch.no_grad():
            assert torch.equal(logits, timm.create_model("test_resnet", pretrained=False).eval()(x))


# --- a plug-in distribution ----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.multiprocess
def test_a_plugin_distributions_suite_and_metric_are_covered_without_an_edit():
    """With ``tests/plugins`` on the path (a distribution with a suite and a metric, laid out as pip
    installs it), this module's contracts run over its suite and metric too: nothing here names them."""
    import os
    import subprocess
    import sys

    from engine_support import REPO, env

    child = env()
    child["PYTHONPATH"] = os.pathsep.join([os.path.join(REPO, "tests", "plugins"), child["PYTHONPATH"]])
    done = subprocess.run([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", __file__,
                           "-k", "example-c or brier or list_suites"], env=child, cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "test_list_suites_shows_every_suite_with_its_layout PASSED" in done.stdout
    passed = [line.split("::")[1].split()[0] for line in done.stdout.splitlines() if line.endswith("PASSED")
              or " PASSED " in line]
    suites = {test.split("[")[0] for test in passed if test.endswith("[example-c]")}
    metrics = {test.split("[")[0] for test in passed if test.endswith("[brier]")}
    assert suites == {"test_a_missing_file_or_empty_root_is_a_one_line_layout_error",
                      "test_generated_data_evaluates_to_a_valid_record", "test_the_declared_columns_are_computed",
                      "test_a_two_task_job_array_merges_to_the_one_process_record"}, done.stdout[-3000:]
    assert metrics == {"test_a_metric_state_merges_exactly",
                       "test_a_metric_computes_its_declared_values_and_none_when_empty",
                       "test_a_metric_state_round_trips_through_json"}, done.stdout[-3000:]
