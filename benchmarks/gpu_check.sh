#!/usr/bin/env bash
# The GPU campaign and check: on a machine with a CUDA device, first the full profile's campaign (the cells of
# papers.yaml's `campaign` list not measured yet, most important first: Table 1's Colored MNIST 99% for every method
# and seed, then WM's two schedule readings; `debiaskit campaign`), then the training step, several models trained at
# once on one GPU (packed into one vmapped step, and as concurrent processes) and the patch-attribution benchmark.
# The measured cells are copied to OUT_DIR/cells/ (copy them into figures/cells/ and commit them: each names its
# device); campaign_plan.txt times the CM and WM 99% cells left on this GPU (measured, or estimated from a probe of
# each method: the GPU's estimate); the rest lands in OUT_DIR as at most eight files.
#
#   bash benchmarks/gpu_check.sh [OUT_DIR]        # OUT_DIR: default $OUT (the device tool's), else build/gpu_check
#
# Needs python3 with a CUDA torch, torchvision, numpy, scipy, scikit-learn, pandas, matplotlib, tqdm and pyyaml;
# debiaskit comes from this checkout (PYTHONPATH=lib, nothing is installed). Data: MNIST under $DEBIASKIT_DATA in
# torchvision's layout (with the device tool: copy ../shared/data/MNIST to build/data/MNIST, carry build/data and
# set DEBIASKIT_DATA=build/data). Without a CUDA device it stops after writing device.txt, with exit status 3.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-build/gpu_check}}"
mkdir -p "$out"
export PYTHONPATH="$PWD/lib${PYTHONPATH:+:$PYTHONPATH}"
export DEBIASKIT_CACHE="${DEBIASKIT_CACHE:-$PWD/build/gpu_check_cache}"  # models stay out of $OUT
py="${PYTHON:-python3}"
budget="${GPU_CHECK_SECONDS:-540}"
campaign_seconds="${CAMPAIGN_SECONDS:-$(( budget - 290 ))}"  # the plan and the benchmarks after it: ~290 s
start=$(date +%s)
left() { echo $(( budget - ($(date +%s) - start) )); }
log="$out/gpu_check.log"

{
  date -u +"%Y-%m-%dT%H:%M:%SZ"
  git rev-parse HEAD 2>/dev/null || true
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 || echo "nvidia-smi: not available"
  "$py" -c "import torch; print('torch', torch.__version__, 'cuda available:', torch.cuda.is_available())" 2>&1
} > "$out/device.txt"
if ! "$py" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 3)"; then
  echo "gpu_check: no CUDA device here (see $out/device.txt); the GPU steps are skipped" | tee -a "$out/device.txt"
  exit 3
fi

run() {  # run NAME SECONDS COMMAND...: one step, its output in $out/NAME, its status in the log
  local name=$1 seconds=$2; shift 2
  local t0=$(date +%s)
  timeout "$seconds" "$@" > "$out/$name" 2>&1
  echo "$name: exit $? after $(( $(date +%s) - t0 )) s" | tee -a "$log"
}

run campaign.log $(( campaign_seconds + 30 )) "$py" -m debiaskit.companion.campaign --minutes "$(( campaign_seconds / 60 ))"
mkdir -p "$out/cells" && cp -r figures/cells/. "$out/cells/"
run campaign_plan.txt 90 "$py" -m debiaskit.companion.campaign --minutes 60 --dry-run --estimate --cells 'cm99_*' 'wm99_*'
run training_step.md 60 "$py" benchmarks/training_step.py --device cuda --steps 50 --variants torch_dropout,debiaskit,channels_last
run packed_training.md 60 "$py" benchmarks/packed_training.py --device cuda --packs 1 4 16 --n-train 8192 --threads 4
run parallel_training.md 80 "$py" benchmarks/parallel_training.py --models 8 --threads 4
run patch_attribution.md 40 "$py" benchmarks/patch_attribution.py --images 2 --loop-positions 300
echo "gpu_check: done in $(( $(date +%s) - start )) s" | tee -a "$log"
