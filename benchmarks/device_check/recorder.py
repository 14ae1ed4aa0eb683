"""The results of one run of the check: each check's status and the throughput rows, as they happen."""
import time
import traceback


class Check:
    """The checks and throughput rows of a run; ``run`` records a failure instead of raising it, so
    one broken step never hides the others' results."""

    def __init__(self, mode, budget):
        self.mode, self.budget, self.start = mode, budget, time.perf_counter()
        self.checks, self.throughput = [], []

    def elapsed(self):
        return time.perf_counter() - self.start

    def over_budget(self):
        return self.elapsed() > self.budget

    def skip(self, name, reason):
        self.checks.append({"name": name, "status": "skipped", "seconds": 0.0, "reason": reason})
        print(f"- {name}: skipped ({reason})", flush=True)

    def run(self, name, fn):
        """Runs ``fn()`` (returns a detail string) as the check ``name``; failures are recorded, not raised."""
        if self.over_budget():
            return self.skip(name, f"time budget of {self.budget:.0f} s spent")
        print(f"- {name} ...", flush=True)
        start = time.perf_counter()
        try:
            detail = fn()
            entry = {"name": name, "status": "ok", "seconds": round(time.perf_counter() - start, 1),
                     "detail": detail or ""}
        except Exception as e:  # noqa: BLE001 (a check that fails is a result)
            entry = {"name": name, "status": "failed", "seconds": round(time.perf_counter() - start, 1),
                     "detail": f"{type(e).__name__}: {str(e).strip()[-1500:]}"}
            traceback.print_exc()
        self.checks.append(entry)
        print(f"  {entry['status']} in {entry['seconds']} s: {entry['detail']}", flush=True)
        return entry

    @property
    def ok(self):
        return all(c["status"] != "failed" for c in self.checks) and all(
            r.get("status") != "failed" for r in self.throughput)
