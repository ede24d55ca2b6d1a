#!/usr/bin/env bash
# Idempotent set-up of pgsuite: Debian packages for headless MuJoCo rendering, a virtual environment,
# torch (the CPU wheel 2.13.0 when no torch is present — never an accidental multi-GB CUDA build), then the
# project with all extras, constrained so nothing can move torch.
#
#   bash scripts/setup.sh                 # .venv in the repository
#   PGSUITE_VENV=none bash scripts/setup.sh   # install into the current python (keeps your own CUDA torch)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${PGSUITE_VENV:-.venv}
PYTHON=${PYTHON:-python3}

# 1. Headless rendering libraries (Mesa EGL + OSMesa) (MuJoCo renders headless with MUJOCO_GL=egl or osmesa).
if command -v apt-get >/dev/null 2>&1 && ! ldconfig -p 2>/dev/null | grep -q libOSMesa; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    libegl1 libegl-mesa0 libgl1-mesa-dri libosmesa6 libglx-mesa0 libgbm1 >/dev/null
fi

# 1b. Fashion-MNIST (Debian `dataset-fashion-mnist`, MIT, 31 MB): the harder offline image set of the N2N
# yardstick (`data=fashion_mnist`, docs/n2n.md). Optional: a failure here only leaves that data set out.
if command -v apt-get >/dev/null 2>&1 && [ ! -d /usr/share/datasets/fashion-mnist ]; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 \
    || { $SUDO apt-get update -qq >/dev/null 2>&1 \
      && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1; } \
    || echo "note: Debian package dataset-fashion-mnist not installed; data=fashion_mnist needs data.root="
fi

# 2. Python environment.
if [ "$VENV" != "none" ]; then
  if [ ! -x "$VENV/bin/python" ]; then "$PYTHON" -m venv "$VENV"; fi
  # shellcheck disable=SC1091
  . "$VENV/bin/activate"
fi

# 3. torch first: keep an installed one, else the pinned CPU wheel.
if ! python -c "import torch" >/dev/null 2>&1; then
  python -m pip install -q "torch==2.13.0"
fi
TORCH_VERSION=$(python -c "import torch; print(torch.__version__)")
CONSTRAINTS=$(mktemp)
echo "torch==${TORCH_VERSION}" >"$CONSTRAINTS"

# 4. The project and every extra (skipped when nothing changed since the last set-up).
STAMP=".setup-stamp"
HASH=$( (cat pyproject.toml; echo "$TORCH_VERSION") | sha256sum | cut -d' ' -f1)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$HASH" ] || ! python -c "import agents, envs, policies" >/dev/null 2>&1; then
  python -m pip install -q -c "$CONSTRAINTS" -e ".[all]"
  echo "$HASH" >"$STAMP"
fi
rm -f "$CONSTRAINTS"
python -c "import torch, gymnasium, stable_baselines3; print(f'pgsuite ready: torch {torch.__version__}, gymnasium {gymnasium.__version__}, SB3 {stable_baselines3.__version__}')"
