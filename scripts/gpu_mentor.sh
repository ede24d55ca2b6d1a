#!/usr/bin/env bash
# MENTOR vs DrQ-v2 on pixels, Meta-World hammer / assembly / door-open × 3 seeds, on one GPU (issue 16).
# Prepared so no GPU time goes to set-up: checks the GPU and the packages, runs every (agent, task, seed)
# in parallel for at most $MINUTES minutes each, and leaves results, curves and run logs under $OUT
# (default: ./gpu_out). Run from the repository root:
#   MINUTES=8 FRAMES=1000000 bash scripts/gpu_mentor.sh
# Numbers then go to docs/mentor.md ("Pixels on a GPU") and docs/results/mentor_gpu.json.
set -euo pipefail
OUT=${OUT:-gpu_out}
MINUTES=${MINUTES:-8}          # per run; all 18 runs go at once
FRAMES=${FRAMES:-1000000}      # upper bound; the time limit usually stops runs first (partial rows)
EVAL_FRAMES=${EVAL_FRAMES:-20000}
WORKERS=${WORKERS:-18}
PYTHON=${PYTHON:-python}
export MUJOCO_GL=${MUJOCO_GL:-egl} PYTHONHASHSEED=0 PYTHONPATH=$PWD
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
"$PYTHON" - <<'PY' | tee -a "$OUT/gpu.txt"
import torch, mujoco, metaworld, envs.robotics.rendering as r
assert torch.cuda.is_available(), "torch sees no GPU"
print("torch", torch.__version__, torch.cuda.get_device_name(0), "mujoco", mujoco.__version__, "MUJOCO_GL", r.setup_headless())
PY
"$PYTHON" -m benchmarks.mentor_gpu --device cuda --frames "$FRAMES" --eval-frames "$EVAL_FRAMES" \
    --workers "$WORKERS" --max-minutes "$MINUTES" --runs "$OUT/runs" --out "$OUT/mentor_gpu.json" \
    --figures "$OUT" 2>&1 | tee "$OUT/mentor_gpu.log"
