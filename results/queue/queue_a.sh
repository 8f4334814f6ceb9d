#!/bin/bash
# Issue 17 figures (docs/resolution.md): one core, 2026-12-03, AMD EPYC 2-core VM, the other core busy.
set -x
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}  # relative to the repository root (the cd above)
export OMP_NUM_THREADS=1
$PY benchmarks/super_resolution.py --bands nyquist --threads 1 --out results/superres
$PY benchmarks/super_resolution.py --data ../shared/data/div2k/downscaled_smiler96 --images 0801,0829,0845 --bands nyquist --threads 1 --out results/superres_div2k
$PY benchmarks/rd_compare.py --variants pe_band=full pe_band=nyquist --bits 5,6,7,8 --epochs 150 --half --threads 1 --out results/rd_compare_band
$PY benchmarks/resolution_kinds.py radiance --size 50 --time-budget 300 --threads 1 --out results/resolution_kinds
