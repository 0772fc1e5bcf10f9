#!/usr/bin/env bash
# Runs every benchmark in bench/ against a freshly started desk; JSON lands in bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
for script in bench/*.py; do
  echo "==> $script"
  .venv/bin/python "$script" "$@"
done
