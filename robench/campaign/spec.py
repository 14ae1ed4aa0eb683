"""A campaign's settings: what to evaluate (the eval settings, in ``eval.toml``), how to split it, and the cluster's.

Kept in ``OUT/.campaign/campaign.json`` so that ``robench status`` and ``robench submit --resume OUT``
need nothing but the output folder; every submission (the array job, the task indices it ran, its merge
job) is appended, which is how a requeued or resubmitted task is found in Slurm's queue.
"""
import os
from dataclasses import asdict, dataclass, field

from robench.errors import RobenchError
from robench.fileio import atomic_write_json, atomic_write_text
from robench.results import now, read_json

CAMPAIGN_DIR = ".campaign"
VERSION = 1


@dataclass
class Cluster:
    """What each array element asks Slurm for (submitit's parameter names where they exist)."""

    partition: str = None
    nodes: int = 1
    ranks_per_node: int = 1  # Slurm tasks per node: one robench rank each (as torchrun's --nproc_per_node)
    gpus_per_node: int = 0
    cpus_per_rank: int = None
    mem: str = None
    time_min: int = 60
    max_running: int = None  # array elements that run at once (sbatch --array=...%P)
    account: str = None
    qos: str = None
    sbatch: dict = field(default_factory=dict)  # further sbatch options, name -> value ("" for a flag)

    def describe(self):
        ranks = self.nodes * self.ranks_per_node
        gpus = f", {self.gpus_per_node} GPU(s) per node" if self.gpus_per_node else ""
        return f"{self.nodes} node(s), {ranks} rank(s){gpus}, {self.time_min} min"


@dataclass
class Campaign:
    out: str  # absolute --out folder
    tasks: int  # array tasks N: each runs --task i/N
    cluster: Cluster
    models: list  # model specs, as given
    suites: dict  # suite name -> {variant name: images}
    created: str = field(default_factory=now)
    submissions: list = field(default_factory=list)  # {"jobs": {task index: Slurm job id}, "merge_job": id, "at": time}
    version: int = VERSION

    @property
    def folder(self):
        return campaign_dir(self.out)

    @property
    def eval_config(self):
        return os.path.join(self.folder, "eval.toml")

    def images(self):
        """Images one model reads over the whole campaign."""
        return sum(sum(v.values()) for v in self.suites.values())

    def save(self):
        atomic_write_json(os.path.join(self.folder, "campaign.json"), {**asdict(self), "cluster": asdict(self.cluster)})

    def add_submission(self, jobs, merge_job=None):
        """Records a submission: ``jobs`` maps each task index it ran to its Slurm job id."""
        self.submissions.append({"jobs": {str(i): str(j) for i, j in jobs.items()},
                                 "merge_job": None if merge_job is None else str(merge_job), "at": now()})
        self.save()

    def slurm_ids(self):
        """task index -> the Slurm job id of its latest submission ("<array>_<element>", or a plain id)."""
        ids = {}
        for sub in self.submissions:
            ids.update({int(i): j for i, j in sub["jobs"].items()})
        return ids


def campaign_dir(out):
    return os.path.join(os.path.abspath(out), CAMPAIGN_DIR)


def exists(out):
    return os.path.isfile(os.path.join(campaign_dir(out), "campaign.json"))


def load(out):
    """The campaign of the output folder ``out``; a clear error when it holds none."""
    path = os.path.join(campaign_dir(out), "campaign.json")
    if not os.path.isfile(path):
        raise RobenchError(f"{out} holds no robench campaign ({path} does not exist): start one with robench submit")
    try:
        data = read_json(path)
        if data.get("version") != VERSION:
            raise ValueError(f"campaign version {data.get('version')!r}, this robench reads {VERSION}")
        data["cluster"] = Cluster(**data["cluster"])
        return Campaign(**data)
    except (ValueError, TypeError, KeyError) as e:
        raise RobenchError(f"{path} is not a campaign file robench wrote ({e})") from None


def create(out, tasks, cluster, models, suites, eval_toml):
    """A new campaign in ``out``: the folder, its eval settings and campaign.json."""
    campaign = Campaign(os.path.abspath(out), tasks, cluster, list(models), suites)
    os.makedirs(campaign.folder, exist_ok=True)
    atomic_write_text(campaign.eval_config, eval_toml)
    campaign.save()
    return campaign
