#!/bin/bash
# GPU session of 2026-12-04, third call: time to quality on the GPU (the time-to-quality issue's "same curves on
# the GPU"), kodim23 at full size, MLP 28x9 at 16 bits: the papers' recipe for 80 s, inrzip at 5 / 10 / 20 s.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1 NUMBA_CACHE_DIR=/tmp/numba
date +%T
timeout 165 python3 benchmarks/time_to_quality.py --data .gpu/kodak --images kodim23 --crop 0 --param mlp \
    --bits 16 --arch 28x9 --T 80 --budgets 5,10,20 --every 5 --methods inrzip,recipe --threads 4 --device cuda \
    --out $OUT 2>&1 | tail -12
date +%T
