"""A campaign's state, read from its output folder (and from Slurm's queue where it answers).

The files robench writes are the truth: each task's state file, the slice results under
``<model>/.slices/<suite>/`` (one per finished variant slice: the cells done), the task records and the
merge's outcome. Slurm adds what only it knows: whether a task is pending, running or requeued, and whether a
task whose file says running is still in its queue at all (if not, it was lost).
"""
import glob
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone

from robench.campaign import finish, slurm, spec, tasks

PENDING, LOST = "pending", "lost"
QUEUED = {"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "CONFIGURING", "SUSPENDED"}


@dataclass
class TaskStatus:
    index: int
    state: str  # pending, running, done, failed, lost
    job_id: str = None
    slurm_state: str = None
    attempt: int = 0
    error: str = None
    seconds: float = None  # of its latest attempt


@dataclass
class Status:
    campaign: object
    tasks: list
    cells: dict  # (model folder, suite) -> (slices done, slices in all)
    images_done: int
    images_total: int
    rate: float = None  # images/s over the campaign's running time
    eta_s: float = None
    slurm_answers: bool = True
    merge: dict = None
    counts: dict = field(default_factory=dict)

    @property
    def rerun(self):
        return [t.index for t in self.tasks if t.state in (tasks.FAILED, LOST)]


def read_status(out, ask_slurm=True):
    campaign = spec.load(out)
    ids = campaign.slurm_ids()
    queue = slurm.queue_states(ids.values()) if ask_slurm and ids else None
    states = tasks.states(campaign.out, campaign.tasks)
    rows = [_task_status(i, state, ids.get(i), queue) for i, state in enumerate(states)]
    cells, done_images = _cells(campaign)
    first_start = min((t for t in (_parse(s.get("started")) for s in states if s and s.get("started")) if t),
                      default=None)
    total = campaign.images() * max(1, len({m for m, _ in cells}) or len(campaign.models))
    status = Status(campaign, rows, cells, done_images, total, slurm_answers=queue is not None or not ids,
                    merge=finish.read_outcome(campaign.out))
    status.counts = {s: sum(t.state == s for t in rows) for s in (PENDING, tasks.RUNNING, tasks.DONE, tasks.FAILED, LOST)}
    elapsed = (_utcnow() - first_start).total_seconds() if first_start else None
    if elapsed and done_images and status.counts[tasks.RUNNING] + status.counts[PENDING]:
        status.rate = done_images / elapsed
        status.eta_s = max(0.0, (total - done_images) / status.rate)
    elif done_images and elapsed:
        status.rate = done_images / elapsed
    return status


def _task_status(index, state, job_id, queue):
    in_queue = None if queue is None or job_id is None else queue.get(job_id)
    row = TaskStatus(index, PENDING, job_id, in_queue)
    if state is not None:
        row.attempt, row.error = state.get("attempt", 0), state.get("error")
        row.seconds = _seconds(state.get("started"), state.get("finished"))
        row.state = state.get("state", PENDING)
    if in_queue in QUEUED:
        row.state = PENDING  # requeued: it runs again and resumes
    elif in_queue is not None:
        row.state = tasks.RUNNING
    elif row.state == tasks.RUNNING and queue is not None and job_id is not None:
        row.state = LOST  # its file says running, Slurm no longer has it
    return row


def _cells(campaign):
    """Slices done per (model folder, suite) for this campaign's array size, and the images in them."""
    n = campaign.tasks
    cells, images = {}, 0
    for model_dir in sorted(glob.glob(os.path.join(glob.escape(campaign.out), "*", ".slices"))):
        model = os.path.basename(os.path.dirname(model_dir))
        for suite, variants in campaign.suites.items():
            done = glob.glob(os.path.join(glob.escape(model_dir), suite, f"*.task-*-of-{n}.json"))
            done = [p for p in done if ".progress-" not in os.path.basename(p)]
            cells[(model, suite)] = (len(done), len(variants) * n)
            images += sum(_slice_images(p) for p in done)
    return cells, images


def _slice_images(path):
    from robench.results import read_json

    try:
        start, stop = read_json(path)["slice"]
        return int(stop) - int(start)
    except (ValueError, KeyError, TypeError):
        return 0


def _parse(text):
    try:
        when = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _utcnow():
    return datetime.now(timezone.utc)


def _seconds(started, finished):
    a, b = _parse(started), _parse(finished) if finished else _utcnow()
    return (b - a).total_seconds() if a and b else None


def render(status):
    """The status as lines of text for the terminal."""
    c = status.campaign
    subs = c.submissions
    jobs = f"; latest merge job {subs[-1]['merge_job']}" if subs and subs[-1].get("merge_job") else ""
    lines = [f"campaign {c.out}: {c.tasks} task(s), {len(c.models)} model(s) x {len(c.suites)} suite(s), "
             f"{c.cluster.describe()} per task, {len(subs)} submission(s){jobs}"]
    k = status.counts
    lines.append(f"tasks: {k[tasks.DONE]} done, {k[tasks.RUNNING]} running, {k[PENDING]} pending, "
                 f"{k[tasks.FAILED]} failed, {k[LOST]} lost"
                 + ("" if status.slurm_answers else " (Slurm does not answer: states from robench's files only)"))
    for t in status.tasks:
        where = f" job {t.job_id}" if t.job_id else ""
        slurm_state = f" [{t.slurm_state}]" if t.slurm_state else ""
        took = f", {t.seconds:.0f} s" if t.seconds is not None and t.state != PENDING else ""
        attempt = f", attempt {t.attempt}" if t.attempt > 1 else ""
        why = f": {t.error}" if t.error and t.state == tasks.FAILED else \
            ": its file says running but Slurm no longer has it (node lost or job killed)" if t.state == LOST else ""
        lines.append(f"  task {t.index}: {t.state}{where}{slurm_state}{attempt}{took}{why}")
    if status.cells:
        lines.append("cells (variant slices) done:")
        for (model, suite), (done, total) in sorted(status.cells.items()):
            lines.append(f"  {model} / {suite}: {done}/{total}")
    speed = f", {status.rate:.1f} images/s" if status.rate else ""
    eta = f", about {_duration(status.eta_s)} to go" if status.eta_s is not None else ""
    lines.append(f"images: {status.images_done} of {status.images_total} done{speed}{eta}")
    lines += _merge_lines(status)
    if status.rerun:
        lines.append(f"rerun task(s) {', '.join(map(str, status.rerun))}: robench submit --resume {c.out}")
    return "\n".join(lines) + "\n"


def _merge_lines(status):
    m = status.merge
    if m is None:
        return ["merge: not run yet (it runs when every task has finished)"]
    subs = status.campaign.submissions
    earlier = " (before the latest submission: its merge has not run yet)" if subs and m["finished"] < subs[-1]["at"] else ""
    lines = [f"merge ({m['finished']}{earlier}): {len(m['merged'])} record(s) written"
             + (f", report {m['report']}" if m.get("report") else "")]
    lines += [f"  not written: {s['set']} (task(s) {', '.join(map(str, s['missing']))} missing)" for s in m["incomplete"]]
    lines += [f"  not merged: {p['set']}: {p['error']}" for p in m["problems"]]
    return lines


def _duration(seconds):
    seconds = int(round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"
