#!/bin/bash
# usage: CROP_DIR=crops OUT=out ./screen.sh TAG BUDGET "cmdA" "cmdB"
# cmd: what comes before 'compress' (e.g. "inrzip", or "CARRY=8 EXTRA='--batch-size 4096' python runp.py");
# each crop's A and B fits run side by side, one thread each; the table goes to stdout.
tag=$1; budget=$2; A=$3; B=$4
crop_dir=${CROP_DIR:-crops}; out=${OUT:-.}; crops=${CROPS:-"kodim01 kodim05 kodim13 kodim15 kodim20 kodim23"}
mkdir -p "$out"
for c in $crops; do
  for v in A B; do
    cmd=$([ $v = A ] && echo "$A" || echo "$B")
    eval "$cmd compress $crop_dir/$c.png -o $out/${tag}_${v}_$c.inr --force --time-budget $budget --threads 1 --json" \
      > "$out/${tag}_${v}_$c.json" 2>/dev/null &
  done
  wait
done
CROPS="$crops" python - "$tag" "$out" <<'PY'
import json, os, statistics, sys
tag, out = sys.argv[1], sys.argv[2]
gains, epochs = [], []
for c in os.environ["CROPS"].split():
    a, b = (json.load(open(f"{out}/{tag}_{v}_{c}.json")) for v in "AB")
    gains.append(b["psnr"] - a["psnr"]); epochs.append(b["epochs"] / a["epochs"])
    print(c, f"A {a['psnr']:.2f} ({a['epochs']})  B {b['psnr']:.2f} ({b['epochs']})  {gains[-1]:+.2f}")
print("median", f"{statistics.median(gains):+.3f}", "mean", f"{statistics.mean(gains):+.3f}",
      "epochs x", f"{statistics.median(epochs):.3f}")
PY
