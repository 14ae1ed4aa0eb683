"""One rank's work on one variant for one preprocessing group: decode once, run every model.

The group resumes from the members' progress files when all of them stopped at the same place (any
disagreement, e.g. a model added since, restarts this rank's slice for the group: simple and
still exact). Batches arrive as uint8 and are normalised on the device, per model; on the CPU,
when the models share a normalisation, the DataLoader workers do it (same ops, same numbers).
Forward passes go to ``runners.Runners`` (on the CPU several batches at once); metrics,
predictions and progress files are updated here, batch by batch in loader order. With
``--decode gpu`` the workers ship JPEG bytes and each batch is decoded, resized and cropped on the
run's CUDA device here, in the main process (``gpu_decode``), before its forward passes.
"""
from collections import deque

import torch

from robench.engine import progress, ranges as R
from robench.engine.data import make_loader, normalise
from robench.engine.model_output import ModelFailure, checked_logits, failed_call
from robench.engine.predictions import PredictionRows
from robench.errors import BadImageError, RobenchError
from robench.models.preprocess import build_transform, normaliser
from robench.precision import autocast as make_autocast


class GroupRun:
    def __init__(self, variant, key, members, work, options, runtime):
        self.variant, self.key, self.members = variant, key, members
        self.options, self.runtime = options, runtime
        self.rank_slice = work.rank_slice
        self.paths = [progress.path_for(p.slice_result_path(variant.name, options.task), runtime.rank, runtime.world)
                      for p in members]
        self.identities = [progress.identity(p.measurement_id, p.metric_set.id, work.fingerprint, work.rank_slice,
                                             runtime.rank, runtime.world) for p in members]
        self._resume()

    def _resume(self):
        want = self.options.save_predictions
        saved = [progress.load(path, ident, want, self.variant.name)
                 for path, ident in zip(self.paths, self.identities)]
        restored = _restored(saved, self.members)
        if restored is not None:
            self.done = saved[0].done
            self.metrics = restored
            self.skipped = list(saved[0].skipped)  # skipped files are the same for every model
            self.rows = [s.rows for s in saved]
        else:
            self.done = []
            self.metrics = [p.metric_set.new() for p in self.members]
            self.skipped = []
            self.rows = [PredictionRows(self.variant.name) if want else None for _ in self.members]
        a, b = self.rank_slice
        self.todo = R.subtract([[a, b]], self.done)

    @property
    def remaining(self):
        return R.total(self.todo)

    def run(self, scorer, bar, runners):
        """Evaluates what is left of this rank's slice; saves progress as it goes. Forward passes go
        to ``runners`` (several batches at once on the CPU); batches are scored in order here."""
        opts, device = self.options, self.runtime.device
        if not self.todo:
            return self
        norms = [normaliser(p.model.data_config, device) for p in self.members]
        on_gpu = opts.decode == "gpu"
        in_workers = norms[0] if device.type == "cpu" and _all_equal(norms) and not on_gpu else None
        expect = None if self.variant.resize else self.variant.stored_size
        loader = make_loader(self.variant.source, self.todo, build_transform(self.key), opts.batch_size,
                             opts.workers, pin_memory=opts.pin_memory and device.type == "cuda" and not on_gpu,
                             norm=in_workers, expect_size=expect, encoded=on_gpu)
        if on_gpu:
            from robench.engine.gpu_decode import BatchDecoder, decode_device

            self.decoder = BatchDecoder(self.key, decode_device(device), expect)
            loader = map(self.decoder, loader)
        autocast = make_autocast(device, opts.precision)
        self.writers = None  # models seen writing into their input; they get copies
        self.new_indices, self.batches = [], 0
        in_flight = deque()
        for batch in loader:  # batches are made outside inference mode: their version counters work
            if not any(self.active):  # every model of the group failed: nothing left to compute
                break
            first = self.writers is None and bool(batch.indices)
            job = runners.submit(self._logits, batch, norms, autocast) if batch.indices else None
            in_flight.append((batch, job))
            while len(in_flight) >= (1 if first else runners.count):  # the first batch runs alone
                self._score(*in_flight.popleft(), scorer, bar)
        while in_flight:
            self._score(*in_flight.popleft(), scorer, bar)
        self._fold_scored()
        return self

    def _score(self, batch, job, scorer, bar):
        """Adds a finished batch to every model's metrics (and predictions) and its undecodable
        files to the skipped ones (or stops on them); saves progress every --progress-every batches."""
        self._take_bad(batch)
        if job is not None:
            with torch.inference_mode():
                for plan, logits, metrics, rows in zip(self.members, job.result(), self.metrics, self.rows):
                    if isinstance(logits, ModelFailure):
                        self._fail(plan, logits.reason)
                    if plan.model.failure is not None:
                        continue
                    scored = scorer.update(metrics, logits, batch.labels, predictions=rows is not None,
                                           keys=batch.keys)
                    if rows is not None:
                        rows.add(batch.indices, batch.keys, batch.labels.numpy(), scored)
        self.new_indices.extend(batch.all_indices())
        bar.update(batch.size)
        self.batches += 1
        every = self.options.progress_every
        if every and self.batches % every == 0:
            self._save_progress()

    def _fail(self, plan, reason):
        """Leaves a model out of the rest of the run: the first failure is the one reported."""
        if plan.model.failure is None:
            plan.model.failure = f"{self.variant.name}, batch {self.batches + 1}: {reason}"

    @property
    def active(self):
        return [p.model.failure is None for p in self.members]

    def _take_bad(self, batch):
        if not batch.bad:
            return
        if not self.options.skip_bad_images:
            index, key, reason = batch.bad[0]
            verb = "cannot read" if reason.startswith("cannot read") else "cannot decode"
            raise BadImageError(
                f"{verb} {self.variant.source.locate(key)} in {self.variant.name} ({reason}); "
                "fix or remove the file, or pass --skip-bad-images to skip and count such files")
        self.skipped.extend([i, k, r] for i, k, r in batch.bad)

    def _logits(self, batch, norms, autocast):
        """Every model's logits for the batch (on a runner thread). A uint8 batch is normalised per
        model; a batch the workers normalised is shared by the models that leave it alone. The
        first batch (run alone) gives every model a copy and notes (by version counter) which
        models write into their input: those keep getting copies. Inputs are made outside
        inference mode, so that their version counters work."""
        layout = torch.channels_last if self.options.channels_last else torch.contiguous_format
        images = batch.images.to(self.runtime.device, non_blocking=True)
        shared_ok = images.is_floating_point()
        first = self.writers is None
        if first:
            self.writers = set()
        out = []
        for k, (plan, (mean, std)) in enumerate(zip(self.members, norms)):
            if plan.model.failure is not None:  # failed earlier in the run: not run again
                out.append(None)
                continue
            shared = shared_ok and not first and k not in self.writers
            x = normalise(images, mean, std) if not shared_ok else (images if shared else images.clone())
            version = x._version
            try:
                with _no_autograd(self.runtime.device), autocast:
                    out.append(checked_logits(plan.forward(x.contiguous(memory_format=layout)), len(batch.indices),
                                              allow_nonfinite=self.options.nonfinite == "wrong"))
            except Exception as e:  # any error of the model's own code: that model fails, the others go on
                out.append(failed_call(e))
            if x._version != version:
                if shared:
                    out[-1] = ModelFailure("wrote into its input only after the first batch; evaluate it in a "
                                           "run of its own")
                self.writers.add(k)
        return out

    def _fold_scored(self):
        """Moves the indices of the batches scored since the last fold into ``done``."""
        self.done = R.normalise(self.done + R.from_indices(self.new_indices))
        self.new_indices = []

    def _save_progress(self):
        self._fold_scored()
        for plan, path, ident, metrics, rows in zip(self.members, self.paths, self.identities, self.metrics, self.rows):
            if plan.model.failure is not None:
                continue
            done = progress.Progress(self.done, metrics.state_dict(), self.skipped, rows)
            progress.save(path, ident, done)


def _all_equal(norms):
    return all(torch.equal(m, norms[0][0]) and torch.equal(s, norms[0][1]) for m, s in norms)


def _restored(saved, members):
    """The members' metric states from their progress files when all stopped at the same place and
    every state is valid for its metric set; None otherwise (the slice is redone)."""
    if not saved or not all(s is not None and s.done == saved[0].done for s in saved):
        return None
    try:
        states = [p.metric_set.restore(s.state) for s, p in zip(saved, members)]
        done = R.total(saved[0].done)
        if any(m.count + len(saved[0].skipped) != done for m in states):
            raise ValueError(f"its counts do not add up to the {done} images it says it has done")
    except (RobenchError, ValueError) as e:
        from robench.engine.slice_results import discarded

        discarded("the progress files of " + ", ".join(p.model.name for p in members), e)
        return None
    return states


def _no_autograd(device):
    """inference_mode where it works; plain no_grad on XLA, where torch_xla 2.9's linear layers refuse
    inference tensors ("Cannot set version_counter for inference tensor"). The numbers are the same."""
    return torch.no_grad() if device.type == "xla" else torch.inference_mode()
