#!/bin/bash
# Issue 17 with the capped encoding (a12a9d3): super-resolution protocol on the Kodak subset and DIV2K; one core.
set -x
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}  # relative to the repository root (the cd above)
export OMP_NUM_THREADS=1
$PY benchmarks/super_resolution.py --bands nyquist --threads 1 --out results/superres
$PY benchmarks/super_resolution.py --data ../shared/data/div2k/downscaled_smiler96 --images 0801,0829,0845 --bands nyquist --threads 1 --out results/superres_div2k
