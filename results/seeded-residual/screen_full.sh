#!/bin/bash
# usage: screen.sh OUT.jsonl BUDGET "IMAGES" "VARIANTS" EXTRA-ARGS...   (variants: flags for residual on/off)
# run from the repository root (full Kodak images), e.g.
#   results/seeded-residual/screen_full.sh bpp.jsonl 120 "kodim05" "--residual --no-residual" --bpp 0.3
out=$1; budget=$2; images=$3; variants=$4; shift 4
for im in $images; do for v in $variants; do
  r=$(OMP_NUM_THREADS=1 PYTHONPATH=src python -c "import sys; from inrzip.cli import main; sys.exit(main())" compress ../shared/data/kodak/$im.png -o /tmp/screen_$$.inr --time-budget $budget --threads 1 --force --json $v "$@" 2>/dev/null)
  echo "$r" | python -c "import json,sys; d=json.load(sys.stdin); print(json.dumps({'image':'$im','variant':'$v','args':'$*','budget':$budget,'psnr':d['psnr'],'bpp':d['bpp'],'float_psnr':d.get('float_psnr'),'epochs':d.get('epochs')}))" >> $out
done; done
