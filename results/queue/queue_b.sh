#!/bin/bash
# Issue 12 figures (docs/fitting.md "Time to quality"): one core, 2026-12-03, the other core busy.
set -x
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}  # relative to the repository root (the cd above)
export OMP_NUM_THREADS=1
$PY benchmarks/time_to_quality.py --param mlp --bits 16 --arch 28x9 --crop 256 --T 300 --budgets 10,30,60 --methods recipe,inrzip --threads 1 --out results/ttq_mlp
$PY benchmarks/time_to_quality.py --param doh --bits 8 --arch 28x9 --crop 256 --images kodim05,kodim15,kodim20 --T 300 --budgets 60,150,300 --methods baseline,inrzip --baseline-src /work/baseline/src --threads 1 --out results/ttq_doh
