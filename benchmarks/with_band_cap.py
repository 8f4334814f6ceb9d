"""Run a benchmark or experiment with one signal kind's band cap changed (how the caps of docs/resolution.md,
"A quarter of the Nyquist rate", were compared).

    python benchmarks/with_band_cap.py image 0.125 benchmarks/super_resolution.py --bands nyquist --threads 1
    python benchmarks/with_band_cap.py image 0.125 benchmarks/rd_compare.py --variants pe_band=half pe_band=nyquist ...
    python benchmarks/with_band_cap.py occupancy 0.25 -m inrzip.experiments.occupancy_table --shapes armadillo ...

``--pe-band nyquist`` keeps a kind's folded encoding frequencies under ``Signal.band_cap`` of the grid's Nyquist
rate; this sets that class attribute for the run, then runs the script (or ``-m`` module) with the remaining
arguments, in this process. ``--pe-band half`` stays at 0.5, so a run can hold both caps side by side.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import inrzip  # noqa: E402,F401  (registers every signal kind)
from inrzip.signals.base import signal_class  # noqa: E402


def main(argv: list[str]) -> None:
    if len(argv) < 3:
        raise SystemExit(__doc__)
    kind, cap, target, *rest = argv
    signal_class(kind).band_cap = float(cap)
    if target == "-m":
        sys.argv = [rest[0], *rest[1:]]
        runpy.run_module(rest[0], run_name="__main__", alter_sys=True)
    else:
        sys.argv = [target, *rest]
        sys.path.insert(0, str(Path(target).resolve().parent))
        runpy.run_path(target, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
