#!/bin/bash
# The benchmark runs behind docs/resolution.md and docs/fitting.md ("Time to quality"), one after another on
# one core (the other core was busy with other work), 2026-12-03.
set -x
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
export OMP_NUM_THREADS=1
# issue 17: super-resolution protocol (defaults, Kodak subset + DIV2K), both encodings on 3 images
$PY benchmarks/super_resolution.py --bands nyquist --threads 1 --out results/superres
$PY benchmarks/super_resolution.py --data ../shared/data/div2k/downscaled_smiler96 --images 0801,0829,0845 --bands nyquist --threads 1 --out results/superres_div2k
$PY benchmarks/super_resolution.py --images kodim03,kodim15,kodim23 --bands full --threads 1 --out results/superres_full
# issue 12: time to quality, MLP 28x9 at 16 bits on 256 crops
$PY benchmarks/time_to_quality.py --param mlp --bits 16 --arch 28x9 --crop 256 --T 300 --budgets 10,30,60 --methods recipe,inrzip --threads 1 --out results/ttq
# issue 17: NeRF at twice its training size
$PY benchmarks/resolution_kinds.py radiance --size 50 --time-budget 300 --threads 1 --out results/resolution_kinds
# issue 12: D'OH against its defaults at d533178 run for T
$PY benchmarks/time_to_quality.py --param doh --bits 8 --arch 28x9 --crop 256 --images kodim05,kodim15,kodim20 --T 300 --budgets 60,150,300 --methods baseline,inrzip --baseline-src /work/baseline/src --threads 1 --out results/ttq
