"""Would D'OH files gain from storing offsets from their init, as image MLPs do (docs/rate.md, "Offsets from the
seeded init")? One D'OH fit of a crop, then every stored tensor (the latent ``z`` and the biases) quantized at one
depth (minmax, post-training) either as its values or as its offsets from the init the fit started from, decoded:

    python benchmarks/doh_offset_probe.py --image kodim23 --epochs 100 --bits 4,5,6,8

A probe, not a file format: D'OH's init here is torch's generator (what ``DOH`` draws today), so nothing is written.
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

from inrzip.api import CompressConfig, FitConfig, field_of, train  # noqa: E402
from inrzip.nets.parameterizations import DOH  # noqa: E402
from inrzip.quant import get_quantizer  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    ap.add_argument("--image", default="kodim23")
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--bits", default="4,5,6,8")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    cfg = CompressConfig(arch="28x9", parameterization="doh", finetune=0.0,
                         fit=FitConfig(epochs=a.epochs, progress=False, threads=1, seed=0))
    fitted = train(load_crop(a.data / f"{a.image}.png", a.crop), cfg)
    init = {k: v.detach() for k, v in DOH(fitted.spec, seed=0, latent_dim=fitted.param.latent,
                                          init=fitted.param.init).stored().items()}
    stored = {k: v.detach().cpu() for k, v in fitted.param.stored().items()}
    q = get_quantizer("minmax")

    def rounded(t: torch.Tensor, bits: int) -> torch.Tensor:
        return torch.from_numpy(q.dequantize(q.quantize(t.numpy().ravel(), bits))).view_as(t).float()

    def psnr(tensors: dict[str, torch.Tensor]) -> float:
        return fitted.signal.evaluate(field_of(fitted.spec, fitted.param.layers_from(tensors)))["psnr"]

    def offsets(bits: int, keys: set[str]) -> dict[str, torch.Tensor]:
        return {k: init[k] + rounded(v - init[k], bits) if k in keys else rounded(v, bits) for k, v in stored.items()}

    print(f"{a.image} {a.crop}x{a.crop}, D'OH 28x9, {a.epochs} epochs: float {psnr(stored):.2f} dB")
    for k, v in stored.items():
        if k in ("z", "b0", "b5"):
            print(f"  {k}: std {float(v.std()):.3g}, offsets' std {float((v - init[k]).std()):.3g}")
    print("| bits | values | offsets | z's offsets only | biases' offsets only |\n|---|---|---|---|---|")
    for b in (int(x) for x in a.bits.split(",")):
        biases = set(stored) - {"z"}
        print(f"| {b} | {psnr(offsets(b, set())):.2f} | {psnr(offsets(b, set(stored))):.2f} | "
              f"{psnr(offsets(b, {'z'})):.2f} | {psnr(offsets(b, biases)):.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
