#!/usr/bin/env bash
# Prepare the GPU run (bench/gpu/run.sh) on a machine with the network and the project's
# venv: the wheels the GPU machine lacks into .whl/ and the sweep's dataset into
# .gpu-data/ (both ignored by git; the run carries them), then the total size, which must
# stay well under the 64 MiB the run may carry. The frontier benchmark's 1m policy is
# trained on the GPU, in seconds (on a busy 2-core CPU it took tens of minutes).
#
#   bench/gpu/prepare.sh                 # PYTHON=... to use another interpreter
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 PREFECT_SERVER_ANALYTICS_ENABLED=false

echo "== wheels -> .whl/"
rm -rf .whl  # no wheel of an earlier wheels.txt left beside the new ones
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -d .whl -r bench/gpu/wheels.txt

echo "== dataset -> .gpu-data/countdown (7,200 + 120 rows, k in {0, 2, 4})"
# Most rejected candidates are duplicates: 3-number problems are few, and k = 4 needs
# about 80% of those that support it.
"$PY" -m searchtrace.cli build bench/gpu/countdown-sweep.yaml --out .gpu-data/countdown \
  --max-rejection-rate 0.8

repo=$(git ls-files -z | du -cb --files0-from=- | tail -1 | cut -f1)
whl=$(du -sb .whl | cut -f1)
data=$(du -sb .gpu-data | cut -f1)
total=$((repo + whl + data))
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
echo "== size: tracked files $(mib "$repo"), .whl $(mib "$whl"), .gpu-data $(mib "$data");" \
  "total $(mib "$total") of the 64 MiB the run may carry"
if [ "$total" -gt $((48 * 1048576)) ]; then
  echo "prepare: $(mib "$total") is too close to the 64 MiB limit (keep it under 48 MiB)" >&2
  exit 1
fi
