"""Screening an init by epochs, not seconds: the same fit from SIREN's random init and from a candidate init.

    python benchmarks/init_screen.py --dir results/meta-init --init siren-28x9-div2k --epochs 3,10,30 \
        --images kodim05,kodim23,kodim15

Each fit is ``compress --mlp --arch 28x9 --bits 16 --epochs E`` on a 256x256 centre crop (its schedule planned
for E epochs), once from the random init and once from ``--init`` read from ``--dir`` (a folder written by
``python -m inrzip.experiments meta-init``, so a candidate can be screened before it is shipped). Counting epochs
makes the comparison independent of the machine's load, which is why the outer rate was screened this way
(docs/fitting.md, "Meta-learned initialization"). Prints the decoded PSNR of both and the gain.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from time_to_quality import load_crop  # noqa: E402

from inrzip.api import CompressConfig, FitConfig, Fitted, prepare, write  # noqa: E402
from inrzip.fit import fit  # noqa: E402
from inrzip.nets.inits import INIT_DIR, apply_init  # noqa: E402


def psnr_after(path: Path, crop: int, epochs: int, init: str | None, directory: Path) -> float:
    signal = load_crop(path, crop)
    prep = prepare(signal, CompressConfig(arch="28x9", parameterization="mlp", pe=False, bits=16,
                                          fit=FitConfig(epochs=epochs, progress=False, threads=1)))
    if init:
        apply_init(prep.param, init, directory=directory)
    result = fit(signal, prep.spec, prep.param, prep.config.fit)
    return write(Fitted(signal, prep.spec, prep.param, prep.config, result, {}), 16).report["psnr"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--init", default="siren-28x9-div2k")
    ap.add_argument("--dir", type=Path, default=INIT_DIR, help="folder holding the init and its index.json")
    ap.add_argument("--epochs", default="3,10,30", help="each a separate pair of fits, planned for that many")
    ap.add_argument("--images", default="kodim05,kodim23,kodim15", help="Kodak names (centre crops)")
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    for epochs in (int(e) for e in a.epochs.split(",")):
        for image in a.images.split(","):
            path = a.data / f"{image}.png"
            base, ours = (psnr_after(path, a.crop, epochs, init, a.dir) for init in (None, a.init))
            print(f"{image} {epochs} epochs: random {base:.2f} init {ours:.2f} gain {ours - base:+.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
