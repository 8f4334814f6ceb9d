#!/bin/bash
# usage: screen.sh OUT.jsonl BUDGET "IMAGES" "VARIANTS" EXTRA-ARGS...   (variants: flags for residual on/off)
# run from the repository root with crops/ made by the command of docs/fitting.md ("An MLP's weights at its file's levels"), e.g.
#   results/seeded-residual/screen.sh mlp8.jsonl 30 "kodim05 kodim23" "--residual --no-residual" --mlp --bits 8
out=$1; budget=$2; images=$3; variants=$4; shift 4
for im in $images; do for v in $variants; do
  r=$(OMP_NUM_THREADS=1 PYTHONPATH=src python -c "import sys; from inrzip.cli import main; sys.exit(main())" compress crops/$im.png -o /tmp/screen_$$.inr --time-budget $budget --threads 1 --force --json $v "$@" 2>/dev/null)
  echo "$r" | python -c "import json,sys; d=json.load(sys.stdin); print(json.dumps({'image':'$im','variant':'$v','args':'$*','budget':$budget,'psnr':d['psnr'],'bpp':d['bpp'],'float_psnr':d.get('float_psnr'),'epochs':d.get('epochs')}))" >> $out
done; done
