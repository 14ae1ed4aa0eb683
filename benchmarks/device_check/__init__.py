"""The accelerator check: everything robench promises on a GPU, in one go, with its numbers.

    bash benchmarks/device_check.sh OUT                 # on a GPU machine: < 8 minutes
    bash benchmarks/device_check.sh --cpu-smoke OUT     # the CPU-only form (CI), < 1 minute

On a machine with CUDA it runs, in order:

1. the tests marked ``cuda`` (``pytest -m cuda tests``: nvjpeg against the CPU decoder, a real
   ``--decode gpu`` evaluation, ``robench parity``);
2. ``robench eval`` of a random ResNet with fp32, bf16, fp16, channels-last, ``--compile`` and
   ``--decode gpu``;
3. a torchrun world of 2 processes (nccl with 2 GPUs; with one GPU, gloo on the CPU, because robench
   puts rank r on cuda:LOCAL_RANK with nccl and two ranks cannot share one GPU that way) and a check
   that its record equals the one-process record;
4. the throughput table: images/s of ResNet-50 (``resnet50@random``, timm, bf16, channels-last) on
   generated 224 px JPEGs in the ImageNet-C layout (used as released: no resize) and on ~500x375
   ImageNet-val-like JPEGs (resize + crop), CPU decode against GPU decode, 1 model and 4 models per
   pass, with the targets beside the numbers: ImageNet-C layout, 1 model, bf16 >= 6,250 images/s;
   val-like GPU decode >= 3x CPU decode. images/s counts images decoded per second in the steady
   state (from the first batch to the end: DataLoader start-up excluded; the end-to-end figure is
   beside it); model-images/s multiplies by the models of the pass.

Without CUDA (or with ``--cpu-smoke``) it runs its CPU-only form: the GPU rows are skipped, each with
its reason, a tiny CPU evaluation and a torchrun gloo world of 2 run, ``--decode gpu`` is checked to
fail with its one-line error, and it exits 0 unless something that should work failed. The table is
printed and written as JSON to OUT/device_check.json (OUT defaults to a folder under the system's
temporary folder, never the working directory): ``mode``, ``machine``, ``checks`` (name, status
ok|failed|skipped, seconds, detail or reason), ``throughput`` (rows with images/s, target, met, or
status skipped and reason), ``targets``, ``ok``.

One module per job: ``recorder`` (the checks' results), ``runs`` (robench in this process and in
children, the machine), ``data`` (the generated JPEGs), ``checks`` (what each check runs), ``forms``
(the GPU and the CPU-only sequence), ``throughput`` (the measurements and their targets), ``table``
(the printed table), ``report`` (the JSON), ``cli`` (the command line).
"""
