#!/bin/bash
# Issue 17: occupancy at twice its training resolution with the capped encoding; after queue D.
set -x
cd "$(dirname "$0")/../.."
while pgrep -f queue_d.sh > /dev/null; do sleep 20; done
export OMP_NUM_THREADS=1
${PY:-.venv/bin/python} benchmarks/resolution_kinds.py occupancy --resolution 64 --time-budget 90 --threads 1 --out results/resolution_kinds
