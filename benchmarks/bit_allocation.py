"""Per-tensor bit allocation of ``--bpp``, measured on one fit: the file with one depth for all tensors beside
the file with bits allocated per tensor (``ratecontrol.allocate``), both at or under the same byte budget.

    python benchmarks/bit_allocation.py --images kodim03,kodim23 --bpp 0.3 --time-budget 120 [--efficiency 0.92]

One ``--bpp`` fit per image (the plan, network and fit of ``encode``), then the fitted network is written twice:
``fit_quantization`` without the distortion proxy (single depth, as before the allocation) and with it (what
``encode`` does now). ``--efficiency`` overrides ``ratecontrol.EFFICIENCY`` (coded bytes per raw byte the plan
counts on) to try a wider network. Prints one JSON line per (image, mode).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from inrzip import api, ratecontrol  # noqa: E402
from inrzip.config import CompressConfig, FitConfig  # noqa: E402


def distortion(fitted: api.Fitted):
    """The proxy ``encode`` allocates with."""
    header = api.core._header(fitted.signal, fitted.spec, fitted.param, "distributional", fitted.config.bits)
    return ratecontrol.proxy_distortion(fitted.signal, fitted.spec, fitted.param.name, api.core._stored(fitted.param),
                                        header)


def one(path: Path, bpp: float, budget_s: float | None, threads: int | None) -> list[dict]:
    sig = api.load(path)
    budget = ratecontrol.target_bytes(bpp, sig.num_samples())
    cfg = CompressConfig(bpp=bpp, fit=FitConfig(time_budget=budget_s, progress=False, threads=threads))
    cfg = replace(cfg, **ratecontrol.default_kind(bpp))
    net = replace(api.core._resolve_network(cfg, sig), fit=cfg.fit)
    planned = ratecontrol.plan(net, lambda c: api.core._build(sig, c)[0], budget)
    fitted = api.train(sig, planned)
    rows = []
    for allocate in (False, True):
        written: list[api.Encoded] = []

        def quality(tables: dict) -> float:
            written.append(api.write(fitted, ratecontrol.main_bits(tables), "distributional", qtensors=tables))
            return written[-1].report["psnr"]

        t0 = time.perf_counter()
        ratecontrol.fit_quantization(api.core._stored(fitted.param),
                                     lambda b: api.core._header(sig, fitted.spec, fitted.param, "distributional", b),
                                     planned.bits, budget, quality,
                                     distortion(fitted) if allocate else None)
        best = max(written, key=lambda e: e.report["psnr"])
        rows.append({"image": path.stem, "target": bpp, "efficiency": ratecontrol.EFFICIENCY, "arch": planned.arch,
                     "allocate": allocate, "bpp": best.report["bpp"], "psnr": best.report["psnr"],
                     "tensor_bits": sorted(p["bits"] for p in best.sizes.per_tensor.values()),
                     "epochs": fitted.result.epochs, "write_seconds": time.perf_counter() - t0})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    ap.add_argument("--images", default="kodim03,kodim23")
    ap.add_argument("--bpp", type=float, default=0.3)
    ap.add_argument("--time-budget", type=float, default=120.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--efficiency", type=float, default=None)
    a = ap.parse_args(argv)
    if a.efficiency is not None:
        ratecontrol.EFFICIENCY = a.efficiency
    for stem in a.images.split(","):
        path = Path(stem) if Path(stem).suffix else a.data / f"{stem}.png"
        for row in one(path, a.bpp, a.time_budget, a.threads):
            print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
