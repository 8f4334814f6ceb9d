#!/bin/bash
# Issue 14: the D'OH-supplement experiments at a CPU protocol, one core, one after another (2026-12-03).
set -x
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1
PY=${PY:-.venv/bin/python}  # relative to the repository root (the cd above)
$PY -m inrzip.experiments doh-init-variance --threads 1
$PY -m inrzip.experiments doh-div2k --threads 1 --seconds 90
$PY -m inrzip.experiments pe-ablation --threads 1 --seconds 60
$PY -m inrzip.experiments figures-kodak --threads 1
$PY -m inrzip.experiments figures-meshes --threads 1
$PY -m inrzip.experiments occupancy-rd --threads 1 --time-budget 120
$PY -m inrzip.experiments doh-kodak-archs --threads 1 --archs 28x9 --seconds 60
# Beside the queue, on the other core (the lego pair of issue 14):
# $PY -m inrzip.experiments nerf-blender --quantizers kmeans --time-budget 1500 --threads 1 --out results/nerf-blender
