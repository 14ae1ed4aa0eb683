"""A real one-node Slurm cluster for the tests: munged, slurmctld and slurmd on 127.0.0.1.

Debian's slurm-wlm (22.05) and munge, started as root with a slurm.conf, munge key and state folder of the
test session's own (free ports, nothing in /etc touched); clients find it through SLURM_CONF. It stands in
for a site's cluster: the same daemons, sbatch, squeue, scontrol requeue and scancel, on one machine.
The daemons are stopped by the process ids they wrote. ``start`` says why it cannot run (not root, a
package missing, a daemon that would not start) so the fixture can skip with that reason; CI sets
ROBENCH_REQUIRE_SLURM=1, which turns the skip into a failure.
"""
import os
import shutil
import signal
import socket
import subprocess
import time

DAEMONS = ("munged", "slurmctld", "slurmd")


class CannotStart(Exception):
    pass


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _conf(root, host, ports, cpus):
    p = lambda *parts: os.path.join(root, *parts)  # noqa: E731
    return f"""ClusterName=robenchtest
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={ports[0]}
SlurmdPort={ports[1]}
AuthType=auth/munge
AuthInfo=socket={p('run', 'munge.socket')}
CredType=cred/munge
StateSaveLocation={p('state')}
SlurmdSpoolDir={p('spool')}
SlurmctldPidFile={p('run', 'slurmctld.pid')}
SlurmdPidFile={p('run', 'slurmd.pid')}
SlurmctldLogFile={p('log', 'slurmctld.log')}
SlurmdLogFile={p('log', 'slurmd.log')}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobRequeue=1
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=600
KillWait=5
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8
"""


class Cluster:
    def __init__(self, root):
        self.root = root
        self.conf = os.path.join(root, "slurm.conf")
        self.env = {"SLURM_CONF": self.conf}

    def run(self, *args, check=True, timeout=60):
        return subprocess.run(list(args), capture_output=True, text=True, check=check, timeout=timeout,
                              env={**os.environ, **self.env})

    def start(self):
        if os.geteuid() != 0:
            raise CannotStart("the Slurm daemons are started as root here; this process is not root")
        missing = [d for d in (*DAEMONS, "mungekey", "sbatch", "squeue") if shutil.which(d) is None]
        if missing:
            raise CannotStart(f"not installed: {', '.join(missing)} (apt-get install slurm-wlm munge)")
        for sub in ("run", "state", "spool", "log"):
            os.makedirs(os.path.join(self.root, sub), exist_ok=True)
        host = socket.gethostname().split(".")[0]
        with open(self.conf, "w") as f:
            f.write(_conf(self.root, host, (_free_port(), _free_port()), os.cpu_count() or 1))
        key, run = os.path.join(self.root, "munge.key"), os.path.join(self.root, "run")
        steps = [["mungekey", "-c", "-k", key],
                 ["munged", f"--key-file={key}", f"--socket={run}/munge.socket", f"--pid-file={run}/munged.pid",
                  f"--log-file={self.root}/log/munged.log", f"--seed-file={run}/munge.seed", "--force"],
                 ["slurmctld", "-f", self.conf, "-i"],
                 ["slurmd", "-f", self.conf, "-N", host]]
        for argv in steps:
            done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **self.env})
            if done.returncode != 0:
                self.stop()
                raise CannotStart(f"{' '.join(argv[:1])} did not start: {(done.stderr or done.stdout).strip()[-300:]}")
            if argv[0] == "mungekey":
                os.chmod(key, 0o600)
        deadline = time.time() + 30
        while time.time() < deadline:
            info = self.run("sinfo", "-h", "-o", "%T", check=False)
            if info.returncode == 0 and info.stdout.strip() in ("idle", "mixed", "allocated"):
                return self
            time.sleep(0.5)
        logs = self.log_tail()
        self.stop()
        raise CannotStart(f"the node did not become idle in 30 s: {logs}")

    def log_tail(self):
        text = []
        for name in ("slurmctld.log", "slurmd.log"):
            path = os.path.join(self.root, "log", name)
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    text.append(f"{name}: " + " | ".join(f.read().splitlines()[-3:]))
        return "; ".join(text)

    def stop(self):
        """Stops the daemons this cluster started, by the pids in their pid files (slurmd first)."""
        for name in reversed(DAEMONS):
            path = os.path.join(self.root, "run", f"{name}.pid")
            try:
                with open(path) as f:
                    pid = int(f.read().strip())
            except (OSError, ValueError):
                continue
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            else:
                os.kill(pid, signal.SIGKILL)

    def job_state(self, job_id):
        """Slurm's state of a job (scontrol keeps finished jobs for MinJobAge), or None when unknown."""
        done = self.run("scontrol", "show", "job", str(job_id), check=False)
        for word in done.stdout.split():
            if word.startswith("JobState="):
                return word.split("=", 1)[1]
        return None
