"""Probes behind docs/fitting-speed.md "Why not": one SIREN training step (forward + hand-written backward,
no optimiser) unchunked, in row chunks, and as two shards on two Python threads.

    .venv/bin/python benchmarks/step_variants.py --arch 28x9
    .venv/bin/python benchmarks/step_variants.py --arch 40x9

Chunks accumulate the gradients of the summed squared error chunk by chunk, which is exact for MSE-type
losses (a scalar factor at the end); shards run the same step on half the rows each with one torch thread.
Prints CPU milliseconds per 8192-row step (wall for the sharded and 2-thread variants), and the GFLOP/s of
the step's three hidden-layer GEMM shapes run alone, back to back (operands in cache), at 1 thread.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from inrzip.fit.engine.kernels import get_sincos  # noqa: E402
from inrzip.fit.runtime import tune_allocator  # noqa: E402
from inrzip.nets.networks import NetworkSpec, parse_arch  # noqa: E402
from inrzip.nets.parameterizations import MLP  # noqa: E402


def step(wb: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor, chunk: int,
         sincos: Callable) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Summed squared error and its gradients (omega already folded into ``wb``), ``chunk`` rows at a time."""
    n = len(wb) // 2
    grads = [torch.zeros_like(t) for t in wb]
    sse = torch.zeros(())
    for s in range(0, x.shape[0], chunk):
        h, inputs, coses = x[s:s + chunk], [], []
        for k in range(n - 1):
            sin, cos = sincos(torch.addmm(wb[2 * k + 1], h, wb[2 * k].t()))
            inputs.append(h)
            coses.append(cos)
            h = sin
        inputs.append(h)
        gz = torch.addmm(wb[-1], h, wb[-2].t()).sub_(y[s:s + chunk])
        sse += gz.square().sum()
        gh = gz  # dL/d(layer output), set by the layer above
        for k in range(n - 1, -1, -1):
            if k < n - 1:
                gz = coses[k].mul_(gh)
            grads[2 * k].addmm_(gz.t(), inputs[k])
            grads[2 * k + 1].add_(gz.sum(0))
            if k > 0:
                gh = gz.mm(wb[2 * k])
    return sse, grads


def per_step(fn: Callable[[], object], repeats: int, clock: Callable[[], float]) -> float:
    fn()
    t0 = clock()
    for _ in range(repeats):
        fn()
    return (clock() - t0) / repeats * 1e3


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", default="28x9")
    ap.add_argument("--batch", type=int, default=8192)
    ap.add_argument("--chunks", default="256,512,1024,2048,4096,8192")
    ap.add_argument("--repeats", type=int, default=20)
    a = ap.parse_args(argv)
    tune_allocator()
    torch.set_num_threads(1)
    width, hidden = parse_arch(a.arch)
    spec = NetworkSpec(2, 3, width, hidden)
    weights = [t.detach() for layer in MLP(spec, seed=0).layers() for t in layer]
    wb = [t * spec.omega for t in weights[:-2]] + weights[-2:]
    x, y = torch.rand(a.batch, 2) * 2 - 1, torch.rand(a.batch, 3)
    sincos = get_sincos("poly")
    h, g, w = torch.randn(a.batch, width), torch.randn(a.batch, width), torch.randn(width, width)
    gemms = {"forward h W^T": lambda: h.mm(w.t()), "weight grad g^T h": lambda: g.t().mm(h),
             "input grad g W": lambda: g.mm(w)}
    for name, fn in gemms.items():
        ms = per_step(fn, 100, time.process_time)
        print(f"{a.arch} GEMM alone, {name:18s}: {2 * a.batch * width * width / ms / 1e6:5.1f} GFLOP/s")
    for chunk in [int(c) for c in a.chunks.split(",")]:
        ms = per_step(lambda: step(wb, x, y, chunk, sincos), a.repeats, time.process_time)
        print(f"{a.arch} chunk {chunk:5d}: {ms:6.2f} ms per step (CPU, 1 thread)")
    half = a.batch // 2
    with ThreadPoolExecutor(2) as pool:
        def sharded() -> None:
            parts = [pool.submit(step, wb, x[i * half:(i + 1) * half], y[i * half:(i + 1) * half], half, sincos)
                     for i in range(2)]
            [p.result() for p in parts]
        ms1 = per_step(lambda: step(wb, x, y, a.batch, sincos), a.repeats, time.perf_counter)
        ms2 = per_step(sharded, a.repeats, time.perf_counter)
    torch.set_num_threads(2)
    ms3 = per_step(lambda: step(wb, x, y, a.batch, sincos), a.repeats, time.perf_counter)
    print(f"{a.arch} wall per step: 1 thread {ms1:.2f} ms, 2 shards on 2 Python threads {ms2:.2f} ms "
          f"({ms1 / ms2:.2f}x), torch's 2 threads {ms3:.2f} ms ({ms1 / ms3:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
