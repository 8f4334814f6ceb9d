"""Fitting throughput: a plain PyTorch SIREN loop vs inrzip's engines vs K models in one pass.

For each architecture, on one Kodak image (768x512), every method fits from the same initial weights
with the same shuffled batches for ``--epochs`` epochs, ``--repeats`` times, interleaved (so load
changes hit all methods alike); we report the median time of the last epoch of each run, by CPU
time of this process (robust on a shared machine; equal to wall time on an idle one with
``--threads 1``) and by wall clock, epochs per CPU-second, effective GFLOP/s (6 x parameters FLOPs
per pixel per step: forward, input- and weight-gradients) and the final PSNR of the float network.
The fp32 matmul peak (best 1024^3 sgemm) is measured at the same thread count between the rounds.

    .venv/bin/python benchmarks/fit_throughput.py --archs 20x4,28x9,40x9 --epochs 2 --repeats 3 --threads 1

Methods: ``plain`` (nn.Linear + sin + torch.optim.Adam, written here), ``reference`` / ``fast`` / ``numba`` /
``compiled`` (inrzip.fit with that engine), ``batched`` (inrzip.fit.fit_many with K models,
throughput counted in model-epochs/s). Writes a JSON with every timing when ``--json`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics as st
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from inrzip.config import FitConfig  # noqa: E402
from inrzip.fit import engine as engines  # noqa: E402
from inrzip.fit import fit, fit_many, runtime  # noqa: E402
from inrzip.nets.networks import NetworkSpec, forward, param_count, parse_arch  # noqa: E402
from inrzip.nets.parameterizations import DOH, MLP  # noqa: E402
from inrzip.signals.image import ImageSignal, image_grid  # noqa: E402

DEFAULT_IMAGE = ROOT.parent / "shared" / "data" / "kodak" / "kodim23.png"
LR = 2e-4  # the MLP default; equal for every method


class PlainSiren(nn.Module):
    """The textbook loop's network: nn.Linear layers, sin(omega * x), last layer linear."""

    def __init__(self, spec: NetworkSpec, init: MLP) -> None:
        super().__init__()
        layers = init.layers()
        self.omega = spec.omega
        self.linears = nn.ModuleList(nn.Linear(w.shape[1], w.shape[0]) for w, _ in layers)
        with torch.no_grad():
            for lin, (w, b) in zip(self.linears, layers):
                lin.weight.copy_(w)
                lin.bias.copy_(b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for lin in self.linears[:-1]:
            x = torch.sin(self.omega * lin(x))
        return self.linears[-1](x)


Laps = list[tuple[float, float]]  # (wall s, CPU s) per epoch and model


def plain_fit(signal: ImageSignal, spec: NetworkSpec, epochs: int, cfg: FitConfig) -> tuple[Laps, Callable]:
    """Per-epoch seconds of the plain loop (same init, batches, loss and Adam settings as inrzip.fit)."""
    model = PlainSiren(spec, MLP(spec, seed=0))
    opt = torch.optim.Adam(model.parameters(), lr=LR, betas=cfg.betas)
    gen, clock = torch.Generator().manual_seed(cfg.seed), Clock()
    # the textbook data pipeline: the pixel grid, targets centred as inrzip's, indexed per step (same batches)
    coords = image_grid(signal.h, signal.w)
    targets = torch.from_numpy(signal.pixels.reshape(-1, signal.out_features) - 0.5)
    n = coords.shape[0]
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        for s in range(0, n, cfg.batch_size):
            idx = perm[s:s + cfg.batch_size]
            x, y = coords[idx], targets[idx]
            loss = torch.log10(((model(x) - y) ** 2).mean() + 1e-12)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        clock.tick()
    return clock.laps, lambda x: model(x)


def engine_fit(signal: ImageSignal, spec: NetworkSpec, epochs: int, cfg: FitConfig,
               engine: str) -> tuple[Laps, Callable]:
    param, clock = MLP(spec, seed=0), Clock()
    fit(signal, spec, param, FitConfig(**{**cfg.__dict__, "epochs": epochs, "engine": engine}),
        on_epoch=lambda *_: clock.tick())
    layers = [(w.detach(), b.detach()) for w, b in param.layers()]
    return clock.laps, lambda x: forward(spec, layers, x)


def batched_fit(signal: ImageSignal, spec: NetworkSpec, epochs: int, cfg: FitConfig, engine: str,
                k: int) -> tuple[Laps, Callable]:
    params, clock = [MLP(spec, seed=s) for s in range(k)], Clock(per=k)
    fit_many(signal, spec, params, FitConfig(**{**cfg.__dict__, "epochs": epochs, "engine": engine}),
             on_epoch=lambda *_: clock.tick())
    layers = [(w.detach(), b.detach()) for w, b in params[0].layers()]
    return clock.laps, lambda x: forward(spec, layers, x)


class Clock:
    """Laps of wall time and of this process's CPU time, per model (``per``: models per lap).

    CPU time is what we compare: on a shared machine a descheduled process's wall clock keeps
    running, its CPU clock does not (with one torch thread it equals wall time on an idle machine)."""

    def __init__(self, per: int = 1) -> None:
        self.per, self.laps = per, []
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def tick(self) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.laps.append(((wall - self._wall) / self.per, (cpu - self._cpu) / self.per))
        self._wall, self._cpu = wall, cpu


def matmul_peak(repeats: int = 9, n: int = 1024) -> tuple[float, float]:
    """Best fp32 GFLOP/s of an n^3 matmul at the current thread count, by wall and by CPU time."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    wall = cpu = 0.0
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        a @ b
        wall = max(wall, 2 * n ** 3 / (time.perf_counter() - t0) / 1e9)
        cpu = max(cpu, 2 * n ** 3 / max(time.process_time() - c0, 1e-9) / 1e9)
    return wall, cpu


def _best_seconds(fn: Callable[[], object], repeats: int = 50) -> float:
    """Median CPU seconds of ``fn`` run back to back (operands stay in cache: a best case)."""
    for _ in range(5):
        fn()
    times = []
    for _ in range(repeats):
        c0 = time.process_time_ns()
        fn()
        times.append((time.process_time_ns() - c0) / 1e9)
    return st.median(times)


def step_floor(spec: NetworkSpec, batch: int, sincos: Callable) -> dict[str, float]:
    """A lower bound on one training step's CPU time: only the step's unavoidable work, each op timed alone.

    The GEMMs every method must run (per layer: forward, weight gradient, input gradient except for the
    first layer) at the shapes of the step, cache-hot, plus sin and cos of every hidden pre-activation from
    the fastest kernel. Nothing else (loss, optimiser, bias, data, Python) is counted, so no fp32 engine built
    on these kernels can beat it; plain-loop time / floor bounds any engine's speed-up."""
    dims = [spec.in_features, *([spec.width] * (spec.hidden + 1)), spec.out_features]
    gemm = trig = 0.0
    for k, (n_in, n_out) in enumerate(zip(dims[:-1], dims[1:])):
        h, w, b, g = torch.randn(batch, n_in), torch.randn(n_out, n_in), torch.randn(n_out), torch.randn(batch, n_out)
        gemm += _best_seconds(lambda: torch.addmm(b, h, w.t()))
        gemm += _best_seconds(lambda: g.t().mm(h))
        if k > 0:
            gemm += _best_seconds(lambda: g.mm(w))
        if k < len(dims) - 2:
            z = torch.randn(batch, n_out) * 10
            trig += _best_seconds(lambda: sincos(z.clone()))
    return {"gemm_s": gemm, "sincos_s": trig, "step_s": gemm + trig}


def machine() -> dict[str, Any]:
    model = next((ln.split(":", 1)[1].strip() for ln in subprocess.run(["lscpu"], capture_output=True, text=True)
                  .stdout.splitlines() if ln.startswith("Model name")), platform.processor())
    return {"cpu": model, "cores": os.cpu_count(), "torch": torch.__version__, "date": time.strftime("%Y-%m-%d %H:%M"),
            "python": platform.python_version()}


def run_arch(signal: ImageSignal, arch: str, args: argparse.Namespace) -> dict[str, Any]:
    """Every method on one architecture, interleaved; medians of the timed (last) epoch."""
    width, hidden = parse_arch(arch)
    spec = NetworkSpec(2, signal.out_features, width, hidden)
    # fixed threads for every method (the fits' automatic choice would differ from the plain loop's)
    cfg = FitConfig(epochs=args.epochs, batch_size=args.batch_size, lr=LR, gamma=1.0, progress=False, seed=0,
                    betas=(0.99, 0.999),
                    threads=torch.get_num_threads())  # gamma 1: the plain loop has no LR schedule either
    methods: dict[str, Callable[[], tuple[Laps, Callable]]] = {
        "plain": lambda: plain_fit(signal, spec, args.epochs, cfg),
        **{e: (lambda e=e: engine_fit(signal, spec, args.epochs, cfg, e)) for e in ("reference", "fast", "compiled",
                                                                                 "numba")},
        "batched": lambda: batched_fit(signal, spec, args.epochs, cfg, args.batch_engine, args.k),
    }
    chosen = [m for m in args.methods.split(",") if m in methods]
    peaks = [matmul_peak()]
    laps: dict[str, Laps] = {m: [] for m in chosen}
    psnrs: dict[str, list[float]] = {m: [] for m in chosen}
    for r in range(args.repeats):
        for m in chosen:
            per_epoch, field = methods[m]()
            laps[m].append(per_epoch[-1])
            psnrs[m].append(signal.evaluate(field)["psnr"])
            print(f"  {arch} {m:9s} repeat {r}: wall {per_epoch[-1][0]:.3f} s, cpu {per_epoch[-1][1]:.3f} s per "
                  f"model-epoch", flush=True)
        peaks.append(matmul_peak())
    flops = 6 * param_count(spec) * signal.num_samples()  # per model-epoch
    peak_wall, peak_cpu = max(p[0] for p in peaks), max(p[1] for p in peaks)
    steps = -(-signal.num_samples() // args.batch_size)
    floor = step_floor(spec, args.batch_size, engines.get_sincos("numba"))  # the fastest sin/cos
    floor = {**floor, "epoch_s": floor["step_s"] * steps, "gemm_epoch_s": floor["gemm_s"] * steps}
    rows = {}
    for m in chosen:
        wall, cpu = st.median(t[0] for t in laps[m]), st.median(t[1] for t in laps[m])
        rows[m] = {"wall_s": wall, "cpu_s": cpu, "epochs_per_cpu_s": 1 / cpu, "gflops_cpu": flops / cpu / 1e9,
                   "gflops_wall": flops / wall / 1e9, "peak_fraction_cpu": flops / cpu / 1e9 / peak_cpu,
                   "psnr": st.median(psnrs[m]), "laps": laps[m], "psnrs": psnrs[m]}
    if "plain" in rows:
        floor["bound_vs_plain"] = rows["plain"]["cpu_s"] / floor["epoch_s"]
        floor["gemm_bound_vs_plain"] = rows["plain"]["cpu_s"] / floor["gemm_epoch_s"]
    floor["peak_fraction_bound"] = flops / floor["epoch_s"] / 1e9 / peak_cpu
    return {"arch": arch, "params": param_count(spec), "matmul_peak_gflops_wall": peak_wall,
            "matmul_peak_gflops_cpu": peak_cpu, "methods": rows, "floor": floor}


def report(result: dict[str, Any]) -> str:
    """Table of one architecture; speed-ups relative to the plain loop, by CPU time."""
    base = result["methods"].get("plain", {}).get("cpu_s")
    lines = [f"{result['arch']} ({result['params']} params): fp32 matmul peak {result['matmul_peak_gflops_cpu']:.1f} "
             f"GFLOP/s per CPU-second ({result['matmul_peak_gflops_wall']:.1f} by wall clock)",
             "  method     cpu s/ep  wall s/ep  ep/cpu-s  GFLOP/s  %peak  vs plain  PSNR dB"]
    for m, r in result["methods"].items():
        speed = f"{base / r['cpu_s']:6.2f}x" if base else "      "
        lines.append(f"  {m:9s} {r['cpu_s']:9.3f} {r['wall_s']:10.3f} {r['epochs_per_cpu_s']:9.3f} "
                     f"{r['gflops_cpu']:8.1f} {100 * r['peak_fraction_cpu']:5.1f}%  {speed}  {r['psnr']:7.2f}")
    f = result["floor"]
    bound = f"{f['bound_vs_plain']:6.2f}x" if "bound_vs_plain" in f else "      "
    lines.append(f"  floor     {f['epoch_s']:9.3f}            (GEMMs {f['gemm_epoch_s']:.3f} + sin/cos alone) "
                 f"{100 * f['peak_fraction_bound']:5.1f}%  {bound}  (upper bound of any fp32 engine)")
    return "\n".join(lines)


def doh_share(signal: ImageSignal, arch: str, latent: float, args: argparse.Namespace,
              steps: int = 4) -> dict[str, Any]:
    """CPU time of D'OH's weight generation (B z forward, B^T g backward) against a whole fast step."""
    width, hidden = parse_arch(arch)
    spec = NetworkSpec(2, signal.out_features, width, hidden, pe_freqs=10)
    param = DOH(spec, seed=0, latent_ratio=latent)
    net = engines.make_forward(spec, "eager")
    opt = engines.make_adam(param.parameters(), 1e-5, (0.99, 0.999), True)
    x, y = next(iter(signal.batches(args.batch_size, torch.Generator().manual_seed(0), torch.device("cpu"))))
    z, g = param.z.detach(), torch.randn(param.B.shape[0])
    gen, step = [], []
    for i in range(steps + 1):
        c0 = time.process_time()
        loss = torch.log10(((net(param.layers(), x) - y) ** 2).mean())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        c1 = time.process_time()
        param.B @ z
        g @ param.B
        c2 = time.process_time()
        if i:
            step.append(c1 - c0)
            gen.append(c2 - c1)
    share = st.median(gen) / st.median(step)
    return {"arch": arch, "latent": latent, "B_MB": param.B.numel() * 4 / 1e6, "step_cpu_s": st.median(step),
            "generation_cpu_s": st.median(gen), "share": share}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    ap.add_argument("--archs", default="20x4,28x9,40x9")
    ap.add_argument("--methods", default="plain,reference,fast,compiled,numba,batched")
    ap.add_argument("--epochs", type=int, default=2, help="epochs per run; the last one is timed")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=8192)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--k", type=int, default=8, help="models per batched fit")
    ap.add_argument("--batch-engine", default="compiled", help="engine of the batched fit")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--doh-latents", default="", help="e.g. 0.3,0.6,1.0: measure D'OH generation's share of a step "
                    "at --batch-size instead of the throughput table")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    runtime.tune_allocator()  # process-wide: every method, the plain loop included, gets the same allocator
    signal = ImageSignal.load(args.image)
    info = {**machine(), "load_before": os.getloadavg(), "threads": torch.get_num_threads(),
            "allocator_tuned": runtime.tune_allocator(), "argv": sys.argv[1:], "image": str(args.image)}
    if not args.doh_latents and ("compiled" in args.methods or args.batch_engine == "compiled"):
        t0 = time.perf_counter()
        engines.get_sincos("poly")
        info["compile_seconds"] = time.perf_counter() - t0
        info["compile"] = dict(engines.compile_report)
    print(json.dumps(info), flush=True)
    if args.doh_latents:
        rows = [doh_share(signal, a, float(r), args)
                for a in args.archs.split(",") for r in args.doh_latents.split(",")]
        for r in rows:
            print(f"{r['arch']} latent {r['latent']}: B {r['B_MB']:.0f} MB, "
                  f"generation {1e3 * r['generation_cpu_s']:.0f} ms"
                  f" of a {1e3 * r['step_cpu_s']:.0f} ms step ({100 * r['share']:.0f}%) at batch {args.batch_size}")
        if args.json:
            args.json.write_text(json.dumps({"machine": info, "doh": rows}, indent=1))
        return 0
    results = []
    for arch in args.archs.split(","):
        results.append(run_arch(signal, arch, args))
        print(report(results[-1]), flush=True)
    info["load_after"] = os.getloadavg()
    print(f"load average before {info['load_before']}, after {info['load_after']}")
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
