"""Screen for the fine-tuning of a D'OH latent at its file's levels: one fit, then the fine-tuning from that same
state at several rates and lengths (the screen behind ``finetune.FINETUNE_LATENT_LR``; docs/fitting.md,
"D'OH's latent at its file's levels").

    python benchmarks/latent_finetune_probe.py IMAGE SECONDS RATE:EPOCHS[:STEP_LR][,...] [BITS]

IMAGE is fitted with the defaults (D'OH 28x9, latent 0.6, on its weights) for SECONDS on one thread with no
fine-tuning, and written at BITS (default 8) with minmax: "before". Then, for each RATE:EPOCHS, the fitted state is
restored and its latent trained for EPOCHS against that file's levels (``FixedGrid``) at RATE times the latent's
own Adam rate, decaying to 0.05 of it, and written on those levels. Prints the decoded PSNR of each file. With
STEP_LR, each tensor's range is learned too (``LearnedGrids`` at that Adam rate, as ``--step-lr`` does for an MLP):
``0.01:10:3e-5,0.01:10:3e-4,0.01:10:3e-3`` is the learned-range comparison of docs/fitting.md.
"""

from __future__ import annotations

import copy
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from inrzip.api import CompressConfig, FitConfig, load, train, write  # noqa: E402
from inrzip.fit import fit_many, resolve_fit  # noqa: E402
from inrzip.quant import FixedGrid, LearnedGrids, get_quantizer  # noqa: E402


def stored(param) -> dict:
    return {k: v.detach().cpu().numpy() for k, v in param.stored().items()}


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4):
        print(__doc__)
        return 2
    image, seconds = argv[0], float(argv[1])
    combos = [(float(p[0]), int(p[1]), float(p[2]) if len(p) > 2 else 0.0) for p in
              (c.split(":") for c in argv[2].split(","))]
    bits = int(argv[3]) if len(argv) == 4 else 8
    torch.set_num_threads(1)
    signal = load(image)
    fit_cfg = FitConfig(time_budget=seconds, threads=1, progress=False)
    fitted = train(signal, CompressConfig(finetune=0.0, fit=fit_cfg))
    before = write(fitted, bits, "minmax")
    print(f"{image}: {fitted.result.epochs} epochs in {seconds:g} s, float {fitted.float_metrics['psnr']:.3f} dB, "
          f"file {before.report['psnr']:.3f} dB at {before.report['bpp']:.4f} bpp", flush=True)
    tables = {k: get_quantizer("minmax").quantize(v.ravel(), bits) for k, v in stored(fitted.param).items()}
    latent = resolve_fit(replace(fit_cfg, optimizer="adam"), signal, fitted.param)  # the latent's own rate
    state = copy.deepcopy(fitted.param.state_dict())
    for rate, epochs, step_lr in combos:
        fitted.param.load_state_dict(state)
        tail = replace(latent, lr=latent.lr * rate, epochs=epochs, time_budget=None, gamma=0.05 ** (1 / epochs),
                       warmup_epochs=0)
        grids = LearnedGrids(tables, step_lr / tail.lr) if step_lr else {k: FixedGrid(t) for k, t in tables.items()}
        t0 = time.perf_counter()
        result = fit_many([signal], fitted.spec, [fitted.param], tail, fixed=[grids])[0]
        now = stored(fitted.param)
        qtensors = grids.finalize(now) if step_lr else {k: grids[k].finalize(v) for k, v in now.items()}
        after = write(replace(fitted, result=result), bits, "minmax", qtensors=qtensors)
        ranges = f"ranges learned at {step_lr:g}" if step_lr else "ranges kept"
        print(f"  rate x{rate:g} ({tail.lr:.3g}), {result.epochs} epochs, {ranges}, {time.perf_counter() - t0:.1f} s: "
              f"{after.report['psnr']:.3f} dB at {after.report['bpp']:.4f} bpp", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
