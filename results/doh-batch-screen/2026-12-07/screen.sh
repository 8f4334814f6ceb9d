#!/bin/bash
# usage: screen2.sh TAG BUDGET "cmdA" "cmdB"  (cmd = env/prefix up to 'compress', flags appended after)
tag=$1; B=$2; A=$3; Bc=$4; shift 4; crops=${CROPS:-"kodim01 kodim05 kodim13 kodim15 kodim20 kodim23"}
for c in $crops; do
  eval "$A compress /tmp/crops/$c.png -o /tmp/scr/${tag}_A_$c.inr --force --time-budget $B --threads 1 --json" > /tmp/scr/${tag}_A_$c.json 2>/dev/null &
  eval "$Bc compress /tmp/crops/$c.png -o /tmp/scr/${tag}_B_$c.inr --force --time-budget $B --threads 1 --json" > /tmp/scr/${tag}_B_$c.json 2>/dev/null &
  wait
done
CROPS="$crops" /work/main/.venv/bin/python - "$tag" <<'PY'
import json, sys, statistics, os
tag = sys.argv[1]; d = []; e = []
for c in os.environ["CROPS"].split():
    a = json.load(open(f"/tmp/scr/{tag}_A_{c}.json")); b = json.load(open(f"/tmp/scr/{tag}_B_{c}.json"))
    d.append(b["psnr"] - a["psnr"]); e.append(b["epochs"] / a["epochs"])
    print(c, f"A {a['psnr']:.2f} ({a['epochs']})  B {b['psnr']:.2f} ({b['epochs']})  {d[-1]:+.2f}")
print("median", f"{statistics.median(d):+.3f}", "mean", f"{statistics.mean(d):+.3f}", "epochs x", f"{statistics.median(e):.3f}")
PY
