#!/bin/bash
# Issue 13: where --bpp 0.3 --time-budget 300 lands on full-size photographs, JPEG/WebP/JPEG 2000 at the rate hit; after queue A.
set -x
cd "$(dirname "$0")/../.."
while pgrep -f queue_a.sh > /dev/null; do sleep 20; done
export OMP_NUM_THREADS=1
${PY:-.venv/bin/python} benchmarks/rate_target.py --images kodim03,kodim15 --bpp 0.3 --time-budget 300 --threads 1 --out results/rate_target
