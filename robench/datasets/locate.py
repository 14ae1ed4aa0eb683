"""Where each suite of a run finds its data: ``--data-dir DIR`` (each suite under its conventional
folder, e.g. DIR/imagenet-c), ``--root SUITE=PATH`` for one suite, or a plain ``--root PATH`` when the
run has one suite. Every suite's data is scanned here, before any model is loaded, so a missing or
malformed data set is one line naming the path looked at and the layout expected, not an error after
an hour of evaluation."""
import os
from dataclasses import dataclass, field

from robench.errors import DatasetLayoutError, RobenchError


@dataclass
class Located:
    suite: object  # a Suite
    root: str
    variants: list = field(default_factory=list)


def parse_roots(values, suite_names):
    """``--root`` values -> (plain root or None, {suite: path}); 'SUITE=PATH' only for a known suite name,
    so paths that contain '=' still work."""
    from robench.datasets import SUITES

    from robench.registry import close_names

    plain, per_suite = None, {}
    for value in values or ():
        name, sep, path = str(value).partition("=")
        if sep and name in SUITES and not path.strip():
            raise RobenchError(f"--root {value} gives no path: use --root {name}=PATH")
        if sep and name in SUITES:
            per_suite[name] = path
        elif sep and "/" not in name and not os.path.exists(str(value)) and close_names(name, SUITES.names()):
            raise RobenchError(f"--root {value}: unknown suite '{name}'.{close_names(name, SUITES.names())} "
                               "(robench list suites lists them)")
        elif plain is None:
            plain = str(value)
        else:
            raise RobenchError(f"--root given twice without a suite ({plain}, {value}); use --root SUITE=PATH "
                               "or --data-dir DIR")
    extra = [s for s in per_suite if s not in suite_names]
    if extra:
        raise RobenchError(f"--root {extra[0]}=... names a suite this run does not evaluate "
                           f"(the run's suites: {', '.join(suite_names)})")
    return plain, per_suite


def root_of(suite, data_dir, plain, per_suite, n_suites):
    if suite.name in per_suite:
        return per_suite[suite.name]
    if plain is not None:
        if n_suites > 1:
            raise RobenchError(f"a plain --root {plain} serves one suite; this run has {n_suites}: use --data-dir DIR "
                               "(each suite in its folder, see robench list suites) or --root SUITE=PATH")
        return plain
    if data_dir is not None:
        return os.path.join(data_dir, suite.folder)
    raise RobenchError(f"where is the data of {suite.name}? Give --root PATH, --root {suite.name}=PATH or "
                       f"--data-dir DIR (then {suite.name} is read from DIR/{suite.folder})")


def locate(names, optional, *, data_dir=None, roots=(), select=None, skip_missing=False, echo=print, labels=None):
    """[Located] for the suites of a run, in order, with their variants scanned; suites whose data is
    missing stop the run (one DatasetLayoutError naming path and layout) unless they are optional
    (``all``) or ``skip_missing`` is set, then they are skipped with a line through ``echo``. ``labels``
    (``--labels FILE``) labels ImageNet val's flat files for the suites that read val."""
    from robench.datasets import get_suite

    if select and len(names) > 1:
        raise RobenchError("--select narrows one suite; this run has several (run the suite alone to select)")
    plain, per_suite = parse_roots(roots, names)
    suites = [get_suite(name) for name in names]
    if labels:
        give_label_file(suites, labels)
    found, problems = [], []
    for name, suite in zip(names, suites):
        root = root_of(suite, data_dir, plain, per_suite, len(names))
        try:
            found.append(Located(suite, root, suite.variants(root, select)))
        except DatasetLayoutError as e:
            if name in optional or skip_missing:
                echo(f"skipped {name}: {e}")
            else:
                problems.append(str(e))
    if problems:
        more = f" (and {len(problems) - 1} more suite(s); --skip-missing runs the others)" if len(problems) > 1 else \
            " (--skip-missing runs the other suites)" if len(names) > 1 else ""
        raise DatasetLayoutError(problems[0] + more)
    if not found:
        raise DatasetLayoutError(f"no data found for any of {', '.join(names)}"
                                 + (f" under {data_dir}" if data_dir else ""))
    return found


def give_label_file(suites, labels):
    """``--labels FILE`` to every suite that reads ImageNet val's flat files (``label_file``); an error when
    none of them does."""
    readers = [s for s in suites if hasattr(s, "label_file")]
    if not readers:
        raise RobenchError(f"--labels {labels} labels ImageNet val's flat files, and none of this run's suites "
                           f"({', '.join(s.name for s in suites)}) reads ImageNet val")
    for suite in readers:
        suite.label_file = os.fspath(labels)
