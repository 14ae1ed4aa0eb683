"""Writes robench/data/model_vs_human_trials.json from a checkout of bethgelab/model-vs-human: the SHA-256
of each human trial file robench reads (cue-conflict, sketch, stylized) and the humans' reference error
consistency computed from them with robench's own code. robench ships these derived numbers, not the
trial files (no licence statement covers them; see robench/stats/human_consistency.py).

    python tools/model_vs_human_manifest.py CHECKOUT --commit SHA
"""
import argparse
import json
import os

from robench.stats import human_consistency as H


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout")
    parser.add_argument("--commit", required=True, help="the checkout's commit, recorded in the manifest")
    opts = parser.parse_args()
    out = {"source": "https://github.com/bethgelab/model-vs-human", "commit": opts.commit,
           "files": "raw-data/<experiment>/<experiment>_subject-XX_session_1.csv", "sha256": {}, "humans": {},
           "licence": "not redistributed: licenses/LICENSES_OVERVIEW.md licenses model-vs-human's code (MIT) and "
                      "its stimuli; no statement covers the trial files"}
    for experiment in H.EXPERIMENTS:
        paths = H.trial_files(opts.checkout, experiment)
        out["sha256"][experiment] = {os.path.basename(p): H._sha256(p) for p in paths}
        out["humans"][experiment] = H.human_reference(H.read_trials(paths))
    with open(H.MANIFEST, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    print(json.dumps(out["humans"]))


if __name__ == "__main__":
    main()
