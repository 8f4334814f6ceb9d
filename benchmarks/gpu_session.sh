#!/bin/bash
# GPU session (docs/benchmarks.md): image fits + CPU/CUDA decode, K-model pass, lego 400x400.
set -x
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1
date +%T
python3 -c "import torch, constriction; print(torch.__version__, torch.cuda.get_device_name(0))"
timeout 330 python3 benchmarks/gpu_session.py --image .gpu/kodim23.png --out $OUT --precisions fp32,bf16 2>&1 | tee $OUT/gpu_session.log
date +%T; I="python3 -m inrzip.cli"
for q in kmeans minmax; do
  timeout 150 $I compress .gpu/lego -o $OUT/lego400_${q}_3bit_qat.inr --arch 64x4 --quantizer $q --bits 3 --qat \
     --size 400 --device cuda --epochs 400 --batch-size 4096 --gamma 0.995 --time-budget 80 --quiet 2>&1 | tee -a $OUT/nerf.log
date +%T; done
date +%T; timeout 60 $I render $OUT/lego400_kmeans_3bit_qat.inr -o /tmp/views --scene .gpu/lego --device cuda --quiet 2>&1 | tail -4 | tee -a $OUT/nerf.log
timeout 60 $I info $OUT/lego400_kmeans_3bit_qat.inr | head -30 | tee -a $OUT/nerf.log
