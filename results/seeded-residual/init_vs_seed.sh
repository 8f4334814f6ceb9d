#!/bin/bash
# The shipped init's offsets against the seeded init's (the default), 8-bit MLP 28x9 files, back to back, one thread:
#   results/seeded-residual/init_vs_seed.sh OUT.jsonl BUDGET "IMAGES"   (crops/ as in screen.sh; run from a tree with src/)
out=$1; budget=$2; images=$3
for im in $images; do for v in seeded shipped; do
  extra=(); [ $v = shipped ] && extra=(--init siren-28x9-div2k --residual)
  r=$(OMP_NUM_THREADS=1 PYTHONPATH=src python -c "import sys; from inrzip.cli import main; sys.exit(main())" compress crops/$im.png -o /tmp/ivs_$$.inr --time-budget $budget --threads 1 --force --json --mlp --arch 28x9 --bits 8 "${extra[@]}" 2>/dev/null)
  echo "$r" | python -c "import json,sys; d=json.load(sys.stdin); print(json.dumps({'image':'$im','init':'$v','budget':$budget,'psnr':d['psnr'],'bpp':d['bpp'],'float_psnr':d.get('float_psnr'),'epochs':d.get('epochs')}))" >> $out
done; done
