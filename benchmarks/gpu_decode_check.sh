#!/bin/bash
# GPU session of 2026-12-04, second call: with signals/canonical.py, the golden files and the 96 Kodak files of the
# first call (benchmarks/gpu_kodak24.sh, carried in .gpu/files) decoded on CUDA and on the CPU.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1 NUMBA_CACHE_DIR=/tmp/numba
date +%T
timeout 200 python3 benchmarks/device_decode.py tests/golden/v1/*.inr .gpu/files/*.inr --device cuda \
    --json $OUT/device_decode_canonical.json 2>&1 | tee $OUT/device_decode_canonical.log
date +%T
