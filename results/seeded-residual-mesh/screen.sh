#!/bin/sh
# Seeded-init offsets on occupancy D'OH files (the default mesh codec), pairs back to back, one thread:
#   [EXTRA="--mlp"] sh results/seeded-residual-mesh/screen.sh BITS BUDGET MESH...   (rows appended to rows.jsonl)
# Run from the repository root with INRZIP_SRC (default src) on PYTHONPATH.
bits=$1; budget=$2; shift 2
out=results/seeded-residual-mesh
for mesh in "$@"; do
  for mode in --residual --no-residual; do
    OMP_NUM_THREADS=1 PYTHONPATH=${INRZIP_SRC:-src} .venv/bin/python -c "import sys; from inrzip.cli import main; sys.exit(main())" \
      compress "$mesh" -o /tmp/mesh_probe.inr --force --quiet --json --bits "$bits" --time-budget "$budget" --threads 1 $EXTRA "$mode" \
      | .venv/bin/python -c "import json,sys; r=json.load(sys.stdin); print(json.dumps({'mesh': sys.argv[1], 'mode': sys.argv[2], 'extra': sys.argv[5], 'bits': int(sys.argv[3]), 'budget': float(sys.argv[4]), **{k: r.get(k) for k in ('iou', 'float_iou', 'file_bytes', 'epochs', 'fit_seconds', 'fit_events')}}))" "$mesh" "$mode" "$bits" "$budget" "$EXTRA" >> $out/rows.jsonl
  done
done
