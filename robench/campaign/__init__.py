"""Campaigns on a Slurm cluster: ``robench submit`` turns a whole evaluation into one job array and a merge.

A campaign is an ``robench eval`` configuration split into N job-array tasks (``--task i/N``), run by
Slurm through submitit, then merged into the records one process would have written. Its state lives in
the output folder and nowhere else (no database): ``OUT/.campaign/`` holds the campaign (``spec``), the
evaluation settings every task runs (``eval.toml``), one state file per task (``tasks``), submitit's
folder and the logs, and the merge's outcome. Each task resumes from its slice results and progress
files when Slurm requeues it, so a preempted campaign's records are the uninterrupted ones.

- ``spec``: the campaign and cluster settings, read and written as JSON.
- ``tasks``: per-task state files (running, done, failed with the error line).
- ``task_runner``: what runs inside each array element (the submitit callable).
- ``slurm``: submitting through submitit, the plain sbatch script of ``--dry-run``, asking squeue/scontrol.
- ``finish``: the merge step (records of every complete set, a report, the failures named).
- ``status``: a campaign's progress read from its files (and from Slurm where it answers).
"""
