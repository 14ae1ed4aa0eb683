#!/usr/bin/env bash
# The accelerator check (benchmarks/device_check/): cuda tests, eval precisions/compile/--decode gpu, a
# torchrun world of 2 and the throughput table on a GPU machine; its CPU-only form elsewhere (or --cpu-smoke).
#   bash benchmarks/device_check.sh [--cpu-smoke] [OUT] [options, see --help]
# writes OUT/device_check.json (OUT: a folder; default: robench-device-check under the temporary folder).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-}"
if [ -z "$python" ]; then
    if [ -x "$here/../.venv/bin/python" ]; then python="$here/../.venv/bin/python"; else python=python3; fi
fi
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
exec "$python" -m device_check "$@"
