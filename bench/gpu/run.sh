#!/usr/bin/env bash
# The GPU run, from the repository root, with .whl/ and .gpu-data/ from prepare.sh beside
# it (carried as ignored paths). Installs the wheels this machine lacks into $GPU_SITE
# (default /tmp/site), then runs bench/gpu/run.py within its ~8 minute budget; results go
# to $OUT (default ./gpu-results).
#
#   bench/gpu/run.sh                 # on one H100 or H200
#   bench/gpu/run.sh --dry-run       # on a CPU (or GPU_DRY_RUN=1): the 1m size, a few steps
#   PYTHON=.venv/bin/python bench/gpu/run.sh --dry-run
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
SITE=${GPU_SITE:-/tmp/site}
if [ -d .whl ]; then
  "$PY" bench/gpu/wheels.py .whl "$SITE"
else
  echo "run.sh: no .whl/ (bench/gpu/prepare.sh makes it): this Python's own packages only"
fi
export PYTHONPATH="$SITE:$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export HF_DATASETS_DISABLE_PROGRESS_BARS=1
exec "$PY" bench/gpu/run.py "$@"
