"""A corruption benchmark (ImageNet-C and its kind): ``<root>/<corruption>/<severity>/<wnid>/*``.

Everything specific to one benchmark is its ``CorruptionSet`` (robench.metrics.corruption):
corruptions and their groups, severities, extra corruptions (evaluated when present, reported apart),
and the baseline errors that normalise CE. ``CorruptionSuite`` turns a set into a suite: the layout,
``--select`` over cells, the aggregates (mCE, mean error, per corruption and group), relative mCE
joined at report time with the clean companion's record, leaderboard columns, the per-corruption and
per-severity detail tables and their plots. ImageNet-C is this class + its set (AlexNet's errors);
ImageNet-C-bar or 3DCC would be a CSV + a few lines.

``--select`` (comma-separated, a union) picks cells; every cell it names must exist:
  ``fog`` (its severities), ``fog/3`` (one cell), ``3`` (severity 3 of the benchmark, plus the extra
  corruptions present), a group name (e.g. ``noise``), ``extra``, ``benchmark``, ``all`` (the default:
  the benchmark plus the extra corruptions present); a group or ``benchmark``/``extra``/``all`` may take a
  severity too: ``weather/5``. Without ``--select`` every benchmark cell must be there.
"""
from robench.datasets.base import Variant, find_data_dir, scan_wnid_folders
from robench.datasets.suite import Suite, top1_fraction
from robench.errors import DatasetLayoutError, RobenchError
from robench.metrics import corruption as C
from robench.registry import close_names


class CorruptionSuite(Suite):
    resize = False
    corruption_set = None  # a CorruptionSet (a property in subclasses, so that listing suites reads no file)
    normalised = True  # False: no published baseline to normalise by (no CE/mCE; errors only)
    companion = "imagenet"
    cell_size = 50_000
    image_glob = "*.JPEG"

    # --- cells ----------------------------------------------------------------------------------
    def expand_token(self, token):
        """One ``--select`` item -> [(corruption, severity, required)]; extras asked for only implicitly
        (``all``, a bare severity) are not required."""
        cset = self.corruption_set
        text = token.strip().strip("/")
        if text.startswith(f"{self.name}/"):
            text = text[len(self.name) + 1:]
        head, _, tail = text.partition("/")
        if head.isdigit() and not tail:
            head, tail = "all", head
        severities = cset.severities
        if tail:
            if not (tail.isdigit() and int(tail) in cset.severities):
                raise RobenchError(f"{self.name} --select '{token}': severity must be "
                                   f"{cset.severities[0]}..{cset.severities[-1]}")
            severities = (int(tail),)
        named = {"all": [(c, True) for c in cset.benchmark] + [(c, False) for c in cset.extra],
                 "benchmark": [(c, True) for c in cset.benchmark], "extra": [(c, True) for c in cset.extra]}
        for group in cset.group_names:
            named[group] = [(c, True) for c in cset.benchmark if cset.groups[c] == group]
        for c in cset.all:
            named[c] = [(c, True)]
        if head not in named:
            raise RobenchError(f"{self.name} --select '{token}' names no corruption, group or severity."
                               f"{close_names(head, named, cutoff=0.0 if len(head) > 3 else 0.6)} "
                               "Use e.g. fog, fog/3, 3, weather, extra (see robench list suites)")
        return [(c, s, required) for c, required in named[head] for s in severities]

    def choose_cells(self, select, present):
        """The (corruption, severity) cells to evaluate, in the set's order, and the asked-for ones missing."""
        corruptions_present = {c for c, _ in present}
        wanted = {}
        for token in select or ["all"]:
            for c, s, required in self.expand_token(token):
                if required or c in corruptions_present:  # an extra corruption, once there, must be whole
                    wanted[(c, s)] = True
        order = {c: i for i, c in enumerate(self.corruption_set.all)}
        cells = sorted(wanted, key=lambda cell: (order[cell[0]], cell[1]))
        return cells, [cell for cell in cells if cell not in present]

    @property
    def accepted_forms(self):
        groups = "/".join(sorted(set(self.corruption_set.groups.values())))
        forms = [f"<corruption>/<severity>/<wnid>/{self.image_glob} (extracted)",
                 f"<group>/<corruption>/<severity>/... (extracted one folder per group: {groups})"]
        if self.archives:
            forms.append(f"{', '.join(self.archives)} (any of them, read in place)")
        return tuple(forms)

    def scan(self, root, select=None):
        """Cells found in the extracted tree, the grouped tree or the released archives (any subset of
        them), each cell read from where it is (``robench.datasets.trees``)."""
        from robench.datasets.trees import suite_tree, without_groups

        cset = self.corruption_set
        folder = find_data_dir(root, self.folder_names)  # named in messages
        tree = without_groups(suite_tree(self, root), sorted(set(cset.groups.values())), lambda n: n in cset.groups)
        present = {(c, s) for c in cset.all for s in cset.severities if tree.is_dir(self.cell_folder(c, s))}
        if not present:
            held = f" or {', '.join(self.archives)}" if self.archives else ""
            raise DatasetLayoutError(
                f"{folder} holds no {cset.name} corruption folders (expected {folder}/<corruption>/<severity>/"
                f"<wnid>/{self.image_glob} with corruptions such as {', '.join(cset.all[:3])}, ...{held})")
        cells, missing = self.choose_cells(select, present)
        if missing:
            self._raise_missing(missing, select, f"{folder}/<corruption>/<severity>/<wnid>/{self.image_glob}")
        size = self.stored_size_of(root)
        made = self.made_by(root)
        return [Variant(f"{self.name}/{c}/{s}",
                        scan_wnid_folders(tree.subtree(self.cell_folder(c, s)),
                                          what=f"{self.cell_folder(c, s)}/<wnid>/{self.image_glob}"),
                        n_official=self.cell_size, info={**self.cell_info(c, s, size), **made}, resize=False,
                        stored_size=size)
                for c, s in cells]

    def cell_folder(self, corruption, severity):
        """The folder of one cell under the root: ``<corruption>/<severity>`` (ImageNet-C-bar names its
        severities by their parameter values instead)."""
        return f"{corruption}/{severity}"

    def made_by(self, root):
        """What a folder made by ``robench data corrupt`` says of its pixels (its marker): the libraries'
        versions and a lossless encoding, carried into each variant of the record; {} for other data."""
        from robench.datasets.base import generated_info

        for folder in (root, find_data_dir(root, self.folder_names)):
            info = generated_info(folder) or {}
            if info.get("libraries") or info.get("encoding"):
                out = {"libraries": info["libraries"]} if info.get("libraries") else {}
                if info.get("encoding") == "lossless":
                    out["encoding"] = "lossless"
                return out
        return {}

    def generation_lines(self, root):
        """Lines for ``robench data check``: the libraries that made a generated folder's pixels, and those
        installed now where they differ (a version change that may change pixels shows here)."""
        made = self.made_by(root)
        if not made.get("libraries"):
            return []
        from robench.datasets.corruptions import version_changes

        lines = ["pixels made with: " + ", ".join(f"{k} {v}" for k, v in made["libraries"].items())]
        changed = version_changes(made["libraries"])
        if changed:
            lines.append(f"installed now differs ({changed}): robench data corrupt would make other files")
        if made.get("encoding") == "lossless":
            lines.append("encoding: lossless PNG, not the release's JPEG q85 (a departure in records)")
        return lines

    def cell_info(self, corruption, severity, size):
        info = {"corruption": corruption, "severity": severity, "group": self.corruption_set.groups[corruption]}
        if size != self.stored_size:
            info["image_size"] = size
        return info

    def select_variants(self, variants, select):
        """The same cell choice for a shard set as for folders (used by the shard reader)."""
        by_cell = {(v.info.get("corruption"), v.info.get("severity")): v for v in variants}
        cells, missing = self.choose_cells(select, set(by_cell))
        if missing:
            self._raise_missing(missing, select, "its manifest")
        return [by_cell[cell] for cell in cells]

    def _raise_missing(self, missing, select, where):
        listed = ", ".join(f"{c}/{s}" for c, s in missing[:12]) + (" ..." if len(missing) > 12 else "")
        hint = ("" if select else "; to evaluate only what is there, pass --select (e.g. fog,snow/3)")
        raise DatasetLayoutError(f"{self.name}: {len(missing)} cell(s) missing ({listed}) in {where}{hint}")

    # --- results --------------------------------------------------------------------------------
    def errors_by_corruption(self, entries):
        """corruption -> top-1 errors (fractions) per severity, for corruptions with every severity."""
        cells = {}
        for entry in entries:
            accuracy = top1_fraction(entry)
            if accuracy is not None and "corruption" in entry:
                cells.setdefault(entry["corruption"], {})[int(entry["severity"])] = 1.0 - accuracy
        wanted = set(self.corruption_set.severities)
        return {c: [per[s] for s in self.corruption_set.severities] for c, per in cells.items() if set(per) == wanted}

    def aggregates(self, entries):
        """mCE, mean error and the rest from the corruptions whose severities were all evaluated; without a
        published baseline (``normalised`` False) no CE or mCE, only the errors."""
        if not self.normalised:
            return unnormalised_aggregates(self.corruption_set, self.errors_by_corruption(entries))
        out = C.aggregates(self.corruption_set, self.errors_by_corruption(entries))
        out["notes"] = [] if out["mce"] is not None else [
            f"mCE and the mean error need all {len(self.corruption_set.benchmark)} benchmark corruptions x "
            f"{len(self.corruption_set.severities)} severities"]
        return out

    def joined(self, record, companion):
        """Relative CE/mCE and the clean error, from the companion (clean) record of the same model."""
        accuracy = None if companion is None else top1_fraction(companion["variants"][0])
        clean_error = None if accuracy is None else 1.0 - accuracy
        if not self.normalised:
            return {"clean_error": None if clean_error is None else 100.0 * clean_error}
        return C.joined(self.corruption_set, self.errors_by_corruption(record["variants"]), clean_error)

    def departures(self, record):
        """Fewer cells than the whole benchmark is a subset of the test data; lossless images made by
        ``robench data corrupt --lossless`` are not the release's JPEGs."""
        cset = self.corruption_set
        cells = {(v.get("corruption"), v.get("severity")) for v in record["variants"]
                 if v.get("corruption") in cset.benchmark}
        out = {"data": "subset"} if len(cells) < len(cset.benchmark) * len(cset.severities) else {}
        if any(v.get("encoding") == "lossless" for v in record["variants"]):
            out["encoding"] = "lossless images, not the release's JPEG q85"
        return out

    def detail_tables(self, rows):
        from robench.datasets.corruption_tables import detail_tables

        return detail_tables(self, rows)

    def plots(self, rows):
        from robench.datasets.corruption_tables import plots

        return plots(self, rows)


def unnormalised_aggregates(corruption_set, errors):
    """The aggregates of a benchmark without a baseline: mean error over the benchmark cells (null unless
    all were evaluated), per corruption and per group; no CE or mCE."""
    have = [c for c in corruption_set.benchmark if c in errors]
    complete = len(have) == len(corruption_set.benchmark)
    n_b, n_s = len(corruption_set.benchmark), len(corruption_set.severities)
    definitions = C.definitions(corruption_set)
    out = {"mean_error": C.mean_error(corruption_set, errors) if complete else None,
           "group_mean_error": C.group_mean_error(corruption_set, errors),
           "corruption_error": C.corruption_error(corruption_set, errors, have) if have else {},
           "definitions": {"mean_error": definitions["mean_error"].replace("the RobustCNN paper's", "the published"),
                           "group_mean_error": definitions["group_mean_error"],
                           "corruption_error": definitions["corruption_error"]},
           "notes": [] if complete else [f"the mean error needs all {n_b} corruptions x {n_s} severities"]}
    return out
