#!/bin/bash
# GPU session of 2026-12-04 (docs/benchmarks.md, "GPU session 2"): CPU/CUDA decoding of the golden files, then the
# 24 Kodak images at 0.1 / 0.2 / 0.3 / 0.5 bpp with the defaults, 16 fits at a time sharing the GPU (MPS when
# it starts), the files decoded on CUDA and on the CPU. Run from the repo root with .whl (constriction) and
# .gpu/kodak carried; results land in $OUT.
set -x
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1 NUMBA_CACHE_DIR=/tmp/numba
BUDGET=${BUDGET:-50}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; nproc; date +%T
python3 -c "import torch, constriction, numba; print(torch.__version__, torch.cuda.get_device_name(0))"
timeout 90 python3 benchmarks/device_decode.py tests/golden/v1/*.inr --device cuda \
    --json $OUT/device_decode_golden.json 2>&1 | tee $OUT/device_decode.log
date +%T
if nvidia-cuda-mps-control -d; then
  if timeout 60 python3 -c "import torch; print('MPS client ok', torch.ones(4, device='cuda').sum().item())"; then
    echo "MPS on"
  else
    echo quit | nvidia-cuda-mps-control; echo "MPS off (client failed)"
  fi
else echo "MPS off (no daemon)"; fi
date +%T
timeout ${RD_TIMEOUT:-440} python3 benchmarks/kodak_rd.py --data .gpu/kodak --images all --bpp 0.1,0.2,0.3,0.5 \
    --time-budget $BUDGET --jobs 16 --device cuda --codecs jpeg --out /tmp/kodak24 --save-files /tmp/files 2>&1 \
    | tee $OUT/kodak24.log
cp /tmp/kodak24/rows.jsonl $OUT/kodak24_rows.jsonl
date +%T
tar czf $OUT/kodak24_files.tgz -C /tmp files
ls /tmp/files | head -12 | sed 's#^#/tmp/files/#' | xargs timeout 60 python3 benchmarks/device_decode.py --device cuda \
    --json $OUT/device_decode_kodak24.json 2>&1 | tail -16
date +%T
