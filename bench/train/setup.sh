#!/usr/bin/env bash
# Creates the bench-only Python environment (git-ignored) with the peer libraries, from PyPI.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=.tools/bench-venv
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/pip" install -q numpy pandas pyarrow scikit-learn==1.9.1 xgboost==3.2.0 lightgbm==4.7.0
