#!/usr/bin/env bash
# The accelerator check (benchmarks/device_check.py): cuda tests, eval precisions/compile/--decode gpu, a
# torchrun world of 2 and the throughput table on a GPU machine; its CPU-only form elsewhere (or --cpu-smoke).
#   bash benchmarks/device_check.sh [--cpu-smoke] [JSON (default: device_check.json)] [options, see --help]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-}"
if [ -z "$python" ]; then
    if [ -x "$here/../.venv/bin/python" ]; then python="$here/../.venv/bin/python"; else python=python3; fi
fi
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
exec "$python" "$here/device_check.py" "$@"
