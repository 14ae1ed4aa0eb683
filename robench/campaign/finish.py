"""The merge step of a campaign: records of every complete set of task records, a report, the failures named.

It runs when the array is over (a dependent Slurm job, ``afterany``, or the submitting process under
``--wait``). A (model, suite) whose N task records are all there is merged exactly as ``robench merge``
does; one that lacks a task is not written at all (nothing partial), and the tasks to rerun are named,
with the command that reruns only them. The outcome goes to ``OUT/.campaign/merge.json`` for ``status``,
the report to ``OUT/report.md``.
"""
import glob
import os

from robench.campaign import spec, tasks
from robench.errors import RecordError, RobenchError
from robench.fileio import atomic_write_json, atomic_write_text
from robench.results import now, read_json

MERGE_FILE = "merge.json"


def task_record_sets(out, count):
    """{(model folder, suite): {task index: path}} of the campaign's task records (arrays of ``count``)."""
    from robench.engine.merge import TASK_RECORD

    found = {}
    for path in sorted(glob.glob(os.path.join(glob.escape(out), "*", "*.json"))):
        m = TASK_RECORD.match(os.path.basename(path))
        if m and int(m["n"]) == count:
            found.setdefault((os.path.dirname(path), m["suite"]), {})[int(m["i"])] = path
    return found


def finish(out):
    """Merges what is complete, writes the report and merge.json; raises RobenchError naming what to rerun."""
    from robench.engine.merge import merge_task_records

    campaign = spec.load(out)
    n = campaign.tasks
    states = tasks.states(campaign.out, n)
    merged, incomplete, problems = [], [], []
    for (model_dir, suite), found in sorted(task_record_sets(campaign.out, n).items()):
        missing = [i for i in range(n) if i not in found]
        label = f"{os.path.basename(model_dir)}/{suite}"
        if missing:
            incomplete.append({"set": label, "missing": missing})
            continue
        try:
            path, notes = merge_task_records(model_dir, suite, [(i, n, found[i]) for i in sorted(found)])
            merged.append({"set": label, "record": path, "notes": notes})
        except RecordError as e:
            problems.append({"set": label, "error": str(e)})
    failed = [{"task": i, "error": (s or {}).get("error") or _not_finished(s)}
              for i, s in enumerate(states) if (s or {}).get("state") != tasks.DONE]
    rerun = sorted({f["task"] for f in failed} | {i for s in incomplete for i in s["missing"]})
    report = _write_report(campaign.out, merged)
    outcome = {"finished": now(), "merged": merged, "incomplete": incomplete, "problems": problems,
               "failed_tasks": failed, "rerun": rerun, "report": report}
    atomic_write_json(os.path.join(campaign.folder, MERGE_FILE), outcome)
    if failed or incomplete or problems:
        raise RobenchError(failure_summary(campaign.out, outcome))
    return outcome


def failure_summary(out, outcome):
    """One paragraph: what was written, which tasks failed and why, and the command that reruns only them."""
    parts = [f"{len(outcome['merged'])} record(s) merged"]
    for f in outcome["failed_tasks"]:
        parts.append(f"task {f['task']} failed: {f['error']}")
    for s in outcome["incomplete"]:
        parts.append(f"{s['set']} not written (task(s) {', '.join(map(str, s['missing']))} missing)")
    for p in outcome["problems"]:
        parts.append(f"{p['set']} not merged: {p['error']}")
    if outcome["rerun"]:
        parts.append(f"rerun task(s) {', '.join(map(str, outcome['rerun']))} with: robench submit --resume {out}")
    return "; ".join(parts)


def read_outcome(out):
    path = os.path.join(spec.campaign_dir(out), MERGE_FILE)
    try:
        return read_json(path) if os.path.isfile(path) else None
    except ValueError:
        return None


def _not_finished(state):
    if state is None:
        return "never started"
    return f"did not finish (state {state.get('state')}, attempt {state.get('attempt')}: lost or still running)"


def _write_report(out, merged):
    """OUT/report.md: the paper-style table of the merged records (None when nothing was merged)."""
    if not merged:
        return None
    from robench import report
    from robench.results import read_record

    frame = report.report_frame([read_record(m["record"]) for m in merged])
    path = os.path.join(out, "report.md")
    atomic_write_text(path, report.render(frame, "markdown"))
    return path
