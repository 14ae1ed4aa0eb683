"""Writes robench's copy of model-vs-human's human trials (robench/data/model_vs_human_<experiment>.csv)
from a git checkout of bethgelab/model-vs-human, and (``--models``) model trial files for tests.

The source files are ``raw-data/<experiment>/<experiment>_subject-XX_session_1.csv`` (one row per trial:
subj, session, trial, rt, object_response, category, condition, imagename). robench keeps what error
consistency needs, one row per trial: ``subject``, ``image_id`` (model-vs-human's short image name,
``plotting_helper.get_short_imagename``: the trial prefix ``0001_s5n_s01_0_bird_00_`` removed),
``category`` (the true 16-class category: the shape for cue-conflict) and ``response``.

    python tools/import_model_vs_human.py GIT_DIR [--commit REV] [--models REV:NAME ...]
"""
import argparse
import csv
import io
import json
import os
import subprocess

EXPERIMENTS = ("cue-conflict", "sketch", "stylized")
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(HERE, "robench", "data")
TESTS = os.path.join(HERE, "tests", "data", "model_vs_human")


def git(git_dir, *args):
    return subprocess.run(["git", "--git-dir", git_dir, *args], check=True, capture_output=True, text=True).stdout


def short_imagename(imagename):
    """model-vs-human's rule (plotting_helper.get_short_imagename), rewritten: the last "_" part, or the
    last two joined when the second-to-last is an ImageNet wnid (n0...)."""
    parts = imagename.split("_")
    if len(parts) == 1:
        return parts[0]
    return "_".join(parts[-2:]) if parts[-2].startswith("n0") else parts[-1]


def rows(text):
    for row in csv.DictReader(io.StringIO(text)):
        yield {"subject": row["subj"], "image_id": short_imagename(row["imagename"]), "category": row["category"],
               "response": row["object_response"]}


def write(path, records):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        out = csv.DictWriter(f, fieldnames=["subject", "image_id", "category", "response"], lineterminator="\n")
        out.writeheader()
        out.writerows(records)
    return os.path.getsize(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("git_dir")
    parser.add_argument("--commit", default="HEAD")
    parser.add_argument("--models", nargs="*", default=[], metavar="REV:NAME",
                        help="model trial files for the tests, e.g. 93ee676:resnet50 (cue-conflict)")
    opts = parser.parse_args()
    commit = git(opts.git_dir, "rev-parse", opts.commit).strip()
    sizes = {}
    for experiment in EXPERIMENTS:
        names = sorted(n for n in git(opts.git_dir, "ls-tree", "--name-only", commit, f"raw-data/{experiment}/").split()
                       if "_subject-" in n)
        records = [r for name in names for r in rows(git(opts.git_dir, "show", f"{commit}:{name}"))]
        sizes[experiment] = write(os.path.join(DATA, f"model_vs_human_{experiment}.csv"), records)
        print(f"{experiment}: {len(names)} subjects, {len(records)} trials, {sizes[experiment]:,} bytes")
    provenance = {"source": "https://github.com/bethgelab/model-vs-human", "commit": commit,
                  "files": "raw-data/<experiment>/<experiment>_subject-XX_session_1.csv",
                  "kept": "subject, image_id (get_short_imagename of imagename), category, response (object_response)",
                  "licence": "model-vs-human's code and data files: MIT (licenses/CODE_LICENSE, Copyright (c) Robert "
                             "Geirhos 2021); the stimuli (not shipped here, only their names) are under their own "
                             "licences (licenses/LICENSES_OVERVIEW.md: cue-conflict CC-BY-4.0, sketch MIT, stylized "
                             "the ImageNet terms)",
                  "licence_text": git(opts.git_dir, "show", f"{commit}:licenses/CODE_LICENSE")}
    with open(os.path.join(DATA, "model_vs_human_provenance.json"), "w") as f:
        json.dump(provenance, f, indent=1)
        f.write("\n")
    for spec in opts.models:
        rev, name = spec.split(":")
        text = git(opts.git_dir, "show", f"{rev}:raw-data/cue-conflict/cue-conflict_{name}_session-1.csv")
        size = write(os.path.join(TESTS, f"cue-conflict_{name}.csv"), list(rows(text)))
        print(f"model {name} at {rev}: {size:,} bytes")


if __name__ == "__main__":
    main()
