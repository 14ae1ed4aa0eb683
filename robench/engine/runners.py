"""Where the models' forward passes run: side by side on the CPU, inline on an accelerator.

On the CPU, the DataLoader workers (decode, resize) and the models share the cores. torch's
default, one intra-op thread per core for every forward pass, oversubscribes them: OpenMP keeps
its threads spinning between parallel regions, on the very cores the workers need, and a small
model's many short regions make that most of the run. Running several batches at once, one
thread each (by default one per core, at most ``MAX_DEFAULT``), uses the cores better for small
and large models alike, and a thread that waits for data sleeps instead of spinning. Measured
on 2 cores, batch 32: ResNet-18 at 96 px 3.9 ms/image (two batches at once, one thread each)
against 4.7 (one batch, two threads); a 64 px Robust-ResNet toy 0.07 against 0.12.

One intra-op thread also keeps the thread settings out of the numbers: some CPU kernels split
their sums by thread count (a 1x1 convolution of the Robust-ResNet toy differs in its last bit
between 1 and 2 threads), so with one thread per forward pass the logits do not depend on
``--threads`` or on how many cores the machine has (torchrun ranks get one thread too). Memory
grows with the batches in flight: ``--threads`` lowers it. Batches are scored in order by the
caller.

On accelerators and with ``--compile`` (compiled graphs are not shared across threads here), the
forward pass runs inline with torch's own thread settings.
"""
from concurrent.futures import Future, ThreadPoolExecutor

import torch

MAX_DEFAULT = 16  # each batch in flight holds its activations: more only when asked for


class Runners:
    def __init__(self, device, threads=None, compile=False):
        self.initial = torch.get_num_threads()  # the cores this process may use (OMP_NUM_THREADS)
        self.cpu = device.type == "cpu" and not compile
        self.count = (threads or min(self.initial, MAX_DEFAULT)) if self.cpu else 1
        if self.cpu:
            torch.set_num_threads(1)
        self.pool = None
        if self.count > 1:
            self.pool = ThreadPoolExecutor(self.count, thread_name_prefix="robench-model")

    def submit(self, fn, *args):
        """A future of ``fn(*args)``: run in a pool thread, or inline (already done) when count is 1."""
        if self.pool is not None:
            return self.pool.submit(fn, *args)
        done = Future()
        done.set_result(fn(*args))
        return done

    def close(self):
        """Waits for forward passes still running and gives the process its thread count back
        (``evaluate`` may be called from a user's program)."""
        if self.pool is not None:
            self.pool.shutdown(wait=True)
        if self.cpu:
            torch.set_num_threads(self.initial)
