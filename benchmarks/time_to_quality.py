"""Time to quality: seconds until the *decoded file* reaches a PSNR, for the papers' recipe and for inrzip.

    python benchmarks/time_to_quality.py --param mlp --bits 16 --arch 28x9 --crop 256 \
        --images kodim01,kodim05,kodim13,kodim15,kodim20,kodim23 --T 300 --budgets 10,30,60 \
        --baseline-src /path/to/a/worktree/of/d533178/src --out results/ttq

Methods, each on every image, one after the other in this process (``--threads``, default 2):
- ``recipe``: the papers' recipe as a plain PyTorch loop (nn.Linear SIREN with the reference init, Adam 2e-4,
  betas (0.99, 0.999), MSE, batch 1024, LR x 0.999 per epoch, up to 2000 epochs), run for ``--T`` seconds with
  a checkpoint every few seconds: the network is written as a real file at ``--bits`` (``api.write``) and
  decoded (checkpoint time is not counted);
- ``preset``: ``inrzip compress --preset paper`` for ``--T`` seconds (checkpoints the same way);
- ``inrzip``: ``inrzip compress --time-budget B`` for each B of ``--budgets`` (each a separate fit whose
  schedule is planned for B): the decoded file's PSNR after B seconds;
- ``meta``: as ``inrzip``, started from the meta-learned init ``--init`` (``compress --init NAME``);
- ``nofinetune``: as ``inrzip`` with ``--finetune 0`` (a fit without its fine-tuning at the file's levels: a D'OH
  latent's, or an MLP's weights at 8 bits or fewer; the two side by side in one run);
- ``fastengine``: as ``inrzip`` with ``--engine fast`` (the library's sin/cos instead of the ``auto`` engine's kernel);
- ``batch8192``: as ``inrzip`` with ``--batch-size 8192`` (D'OH's batch before 2026-12-07);
- ``baseline``: inrzip's defaults as of commit d533178 (``--baseline-src``) run for ``--T`` seconds (its epochs set
  to what fits in T, so its default LR decay spans the run), scored at the end, in a subprocess.

Reported per image: the PSNR of each method at each time; the time inrzip needs to reach the recipe's (or the
baseline's) PSNR after T (log-time interpolation between budgets); the speed-up; inrzip's PSNR at equal time.
Writes ``ttq_<param>_<arch>_<crop>.json`` and ``.md`` and a PNG of PSNR against seconds under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from inrzip.api import CompressConfig, FitConfig, Fitted, encode_bits, prepare, write  # noqa: E402
from inrzip.fit import fit  # noqa: E402
from inrzip.fit.trainer import FitResult  # noqa: E402
from inrzip.signals.image import ImageSignal, image_grid, read_image  # noqa: E402

Curve = list[tuple[float, float]]  # (seconds of fitting, decoded PSNR)


def load_crop(path: Path, crop: int | None) -> ImageSignal:
    pixels, depth = read_image(path)
    if crop:
        h, w = pixels.shape[:2]
        top, left = (h - crop) // 2, (w - crop) // 2
        pixels = pixels[top:top + crop, left:left + crop]
    return ImageSignal(np.ascontiguousarray(pixels), depth)


class Checkpoints:
    """Decoded PSNR every ``every`` seconds of fitting; the clock stops while a checkpoint is measured."""

    def __init__(self, every: float) -> None:
        self.every, self.curve, self.next = every, [], 0.0

    def due(self, seconds: float) -> bool:
        return seconds >= self.next

    def add(self, seconds: float, fitted: Fitted, bits: int) -> None:
        self.curve.append((seconds, write(fitted, bits).report["psnr"]))
        self.next = seconds * 1.25 if seconds >= 8 * self.every else seconds + self.every


def _sync(device: str) -> None:
    """Wait for the GPU's queued work, so the clock counts it (a no-op on the CPU)."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def recipe(signal: ImageSignal, arch: str, bits: int, seconds: float, every: float, device: str = "cpu") -> Curve:
    """The papers' recipe as a textbook loop: its network is copied into an inrzip MLP for each checkpoint."""
    prep = prepare(signal, CompressConfig(arch=arch, parameterization="mlp", pe=False, residual=False))  # torch's init
    spec, param = prep.spec, prep.param
    linears = nn.ModuleList()
    for w, b in param.layers():
        lin = nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            lin.weight.copy_(w)
            lin.bias.copy_(b)
        linears.append(lin)
    linears.to(device)

    def net(x: torch.Tensor) -> torch.Tensor:
        for lin in linears[:-1]:
            x = torch.sin(spec.omega * lin(x))
        return linears[-1](x)

    opt = torch.optim.Adam(linears.parameters(), lr=2e-4, betas=(0.99, 0.999))
    coords = image_grid(signal.h, signal.w).to(device)
    targets = torch.from_numpy(signal.pixels.reshape(-1, signal.out_features) - 0.5).to(device)
    gen, marks, spent = torch.Generator().manual_seed(0), Checkpoints(every), 0.0
    for epoch in range(2000):
        t0 = time.perf_counter()
        perm = torch.randperm(coords.shape[0], generator=gen).to(device)
        for s in range(0, coords.shape[0], 1024):
            idx = perm[s:s + 1024]
            loss = ((net(coords[idx]) - targets[idx]) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        for g in opt.param_groups:
            g["lr"] *= 0.999
        _sync(device)
        spent += time.perf_counter() - t0
        if marks.due(spent) or spent >= seconds:
            with torch.no_grad():
                for (w, b), lin in zip(param.layers(), linears):
                    w.copy_(lin.weight)
                    b.copy_(lin.bias)
            fitted = Fitted(signal, spec, param, prep.config, FitResult(epoch + 1, spent))
            marks.add(spent, fitted, bits)
        if spent >= seconds:
            break
    return marks.curve


def inrzip_budget(signal: ImageSignal, cfg: CompressConfig, bits: int, budget: float) -> tuple[float, float]:
    """(seconds, decoded PSNR) of one file made as ``inrzip compress --time-budget`` makes it (``encode_bits``:
    the fit planned for ``budget`` seconds and, for D'OH, its latent's fine-tuning within them)."""
    enc = encode_bits(signal, replace(cfg, bits=bits, fit=replace(cfg.fit, time_budget=budget, epochs=10 ** 6)),
                      [bits])[0]
    return enc.report["fit_seconds"], enc.report["psnr"]


def checkpointed(signal: ImageSignal, cfg: CompressConfig, bits: int, seconds: float, every: float) -> Curve:
    """An inrzip fit (e.g. ``--preset paper``) for ``seconds`` with decoded checkpoints; the trainer's clock
    stops while its epoch hook runs, and so does this one's."""
    prep = prepare(signal, replace(cfg, bits=bits, fit=replace(cfg.fit, time_budget=seconds)))
    marks, start, paused = Checkpoints(every), time.perf_counter(), [0.0]

    def hook(epoch: int, means: list[float]) -> bool:
        t0 = time.perf_counter()
        spent = t0 - start - paused[0]
        if marks.due(spent):
            marks.add(spent, Fitted(signal, prep.spec, prep.param, prep.config, FitResult(epoch, spent)), bits)
        paused[0] += time.perf_counter() - t0
        return False

    result = fit(signal, prep.spec, prep.param, prep.config.fit, on_epoch=hook)
    marks.add(result.seconds, Fitted(signal, prep.spec, prep.param, prep.config, result), bits)
    return marks.curve


_BASELINE = r"""
import json, time
import numpy as np, torch
torch.set_num_threads({threads})
from pathlib import Path
from inrzip.api import CompressConfig, _package, _parameterization, _spec
from inrzip.fitting import FitConfig, FitResult, fit
from inrzip.signals.image import ImageSignal, read_image
px, depth = read_image(Path({path!r}))
if {crop}:
    h, w = px.shape[:2]; t, l = (h - {crop}) // 2, (w - {crop}) // 2; px = px[t:t + {crop}, l:l + {crop}]
sig = ImageSignal(np.ascontiguousarray(px), depth)
def setup(epochs):
    cfg = CompressConfig(arch={arch!r}, parameterization={param!r}, bits={bits},
                         fit=FitConfig(progress=False, threads={threads}, epochs=epochs, time_budget={T}))
    spec = _spec(sig, cfg)
    return cfg, spec, _parameterization(spec, cfg, sig)
cfg, spec, p = setup(3)  # time an epoch, so the real run's default decay spans T (its epochs are what fit in T)
epoch_s = fit(sig, spec, p, cfg.fit).seconds / 3
cfg, spec, p = setup(max(1, int({T} / epoch_s)))
res = fit(sig, spec, p, cfg.fit)  # no checkpoints: that trainer's budget counts them, so they would cut its fit
curve = [(res.seconds, _package(sig, spec, p, cfg, {bits}, res, {{}}).report["psnr"])]
print(json.dumps(curve))
"""


def baseline(src: Path, path: Path, a: argparse.Namespace) -> Curve:
    """inrzip's defaults at commit d533178, for ``T`` seconds, scored at the end (a subprocess on that tree)."""
    code = _BASELINE.format(threads=a.threads, path=str(path), crop=a.crop or 0, arch=a.arch, param=a.param,
                            bits=a.bits, T=a.T, every=a.every)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/",
                         env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": str(a.threads)})
    return [tuple(p) for p in json.loads(out.stdout.strip().splitlines()[-1])]


def psnr_at(curve: Curve, seconds: float) -> float:
    """PSNR reached by ``seconds`` (the last checkpoint at or before it; a fit given ``seconds`` ends on the step that
    runs past them, so a point up to a quarter second late counts: d533178's kodim23 crop given 30 s ended at 30.035)."""
    done = [p for t, p in curve if t <= seconds * 1.001 + 0.25]
    return max(done) if done else float("nan")


def time_to(points: Curve, target: float) -> float:
    """Seconds at which a rising sequence of (seconds, PSNR) first reaches ``target`` (log-time interpolation)."""
    prev = None
    for t, p in sorted(points):
        if p >= target:
            if prev is None or prev[1] >= target:
                return t
            f = (target - prev[1]) / (p - prev[1])
            return math.exp(math.log(prev[0]) + f * (math.log(t) - math.log(prev[0])))
        prev = (t, p)
    return float("inf")


def run_image(stem: str, a: argparse.Namespace) -> dict:
    path = a.data / f"{stem}.png"
    signal = load_crop(path, a.crop)
    cfg = CompressConfig(arch=a.arch, parameterization=a.param,
                         fit=FitConfig(progress=False, threads=a.threads, device=a.device))
    row: dict = {"image": stem}
    if "recipe" in a.methods:
        row["recipe"] = recipe(signal, a.arch, a.bits, a.T, a.every, a.device) if a.param == "mlp" else []
    if "preset" in a.methods:
        row["preset"] = checkpointed(signal, replace(cfg, preset="paper"), a.bits, a.T, a.every)
    if "baseline" in a.methods and a.baseline_src:
        row["baseline"] = baseline(a.baseline_src, path, a)
    if "inrzip" in a.methods:
        row["inrzip"] = [inrzip_budget(signal, cfg, a.bits, b) for b in a.budgets]
    for name, (variant, _, _) in VARIANTS.items():
        if name in a.methods:
            row[name] = [inrzip_budget(signal, variant(cfg, a), a.bits, b) for b in a.budgets]
    reference = row.get("recipe") or row.get("baseline") or []
    if reference and row.get("inrzip"):
        target = psnr_at(reference, a.T)
        t_ours = time_to(row["inrzip"], target)
        row.update(reference_psnr_at_T=target, inrzip_time_to_it=t_ours, speedup=a.T / t_ours,
                   equal_time_gain={f"{b:g}": p - psnr_at(reference, b) for b, p in zip(a.budgets,
                                                                                  [q for _, q in row["inrzip"]])})
    return row


def markdown(rows: list[dict], a: argparse.Namespace) -> str:
    ref = "recipe" if a.param == "mlp" else "baseline"
    # the reference's columns: the budgets it was checkpointed at (the baseline is scored at T only), then T
    times = [b for b in a.budgets if b < a.T and any(not math.isnan(psnr_at(r.get(ref, []), b)) for r in rows)]
    lines = [f"{a.param} {a.arch} at {a.bits} bits, {'crop ' + str(a.crop) if a.crop else 'full image'}, "
             f"T = {a.T:g} s, {a.threads} threads, device {a.device}; PSNR of the decoded file", "",
             "| image | " + "".join(f"{ref} {b:g} s | " for b in times) + f"{ref} {a.T:g} s | "
             + " | ".join(f"inrzip {b:g} s" for b in a.budgets) + f" | inrzip time to {ref}@T | speed-up |",
             "|---" * (len(times) + len(a.budgets) + 4) + "|"]
    for r in rows:
        cur = r.get(ref, [])
        ours = [p for _, p in r.get("inrzip", [])]
        lines.append(f"| {r['image']} | " + "".join(f"{psnr_at(cur, b):.2f} | " for b in times)
                     + f"{psnr_at(cur, a.T):.2f} | " + " | ".join(f"{p:.2f}" for p in ours)
                     + f" | {_time_to_cell(r, a.budgets)} |")
    speed = [r["speedup"] for r in rows if "speedup" in r]
    if speed:
        gains = {b: [r["equal_time_gain"][f"{b:g}"] for r in rows if "equal_time_gain" in r] for b in a.budgets}
        shown = {b: float(np.median(g)) for b, g in gains.items() if not any(math.isnan(x) for x in g)}
        missed = sum(s == 0 for s in speed)  # not reached by the longest budget: below T / that budget
        lines += ["", f"median speed-up {np.median(speed):.1f}x (min {min(speed):.1f}x"
                  + (f"; {missed} of {len(speed)} not reached, counted as 0" if missed else "")
                  + "); median gain at equal time: " + ", ".join(f"{b:g} s {g:+.2f} dB" for b, g in shown.items())]
    return "\n".join(lines + [line for name in VARIANTS for line in paired_table(rows, a, name)]) + "\n"


def _time_to_cell(row: dict, budgets: list[float]) -> str:
    """``time s | speed-up``; an image the longest budget did not bring to the reference says so (its speed-up, 0 in
    the row and in the median, is below T / that budget), not ``inf s | 0.0x``."""
    t = row.get("inrzip_time_to_it", float("nan"))
    if math.isinf(t):
        return f"not by {max(budgets):g} s | -"
    return f"{t:.1f} s | {row.get('speedup', float('nan')):.1f}x"


# inrzip's defaults changed in one way, run beside them at the same budgets: name -> (the config, what the paired
# table says, the plot's line style)
VARIANTS: dict[str, tuple[Callable[[CompressConfig, argparse.Namespace], CompressConfig], str, str]] = {
    "meta": (lambda cfg, a: replace(cfg, init=a.init),
             "started from init `{init}` (`meta`) against inrzip's random init", "m^-"),
    "nofinetune": (lambda cfg, a: replace(cfg, finetune=0.0),
                   "inrzip without its fine-tuning at the file's levels (`nofinetune`, `--finetune 0`) against inrzip",
                   "c.--"),
    "fastengine": (lambda cfg, a: replace(cfg, fit=replace(cfg.fit, engine="fast")),
                   "inrzip with the library's sin/cos (`fastengine`, `--engine fast`) against inrzip's `auto`", "y.--"),
    "batch8192": (lambda cfg, a: replace(cfg, fit=replace(cfg.fit, batch_size=8192)),
                  "inrzip with batch 8192 (`batch8192`, `--batch-size 8192`: D'OH's default before 2026-12-07, its "
                  "steps carried every 4) against inrzip", "b.--"),
}


def paired_table(rows: list[dict], a: argparse.Namespace, name: str) -> list[str]:
    """inrzip's defaults against variant ``name`` (``VARIANTS``), budget by budget (decoded PSNR); the
    gain is ``name`` minus inrzip."""
    pairs = [r for r in rows if r.get(name) and r.get("inrzip")]
    if not pairs:
        return []
    said = VARIANTS[name][1].format(init=a.init)
    lines = ["", said[0].upper() + said[1:] + ", same budgets:",
             "", "| image | " + " | ".join(f"inrzip {b:g} s | {name} {b:g} s" for b in a.budgets) + " |",
             "|---" * (1 + 2 * len(a.budgets)) + "|"]
    for r in pairs:
        lines.append(f"| {r['image']} | " + " | ".join(f"{p:.2f} | {q:.2f}" for (_, p), (_, q)
                                                        in zip(r["inrzip"], r[name])) + " |")
    gains = [[q - p for (_, p), (_, q) in zip(r["inrzip"], r[name])] for r in pairs]
    med = np.median(np.asarray(gains), axis=0)
    lines += ["", f"median gain of `{name}`: " + ", ".join(f"{b:g} s {g:+.2f} dB" for b, g in zip(a.budgets, med))
              + f"; better on {sum(g > 0 for row in gains for g in row)} of {sum(len(row) for row in gains)} fits"]
    return lines


def plot(rows: list[dict], path: Path, a: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(rows), figsize=(3.2 * len(rows), 3), squeeze=False)
    for ax, r in zip(axes[0], rows):
        for name, style in (("recipe", "k-"), ("preset", "b--"), ("baseline", "g-"), ("inrzip", "ro-"),
                            *((n, v[2]) for n, v in VARIANTS.items())):
            pts = r.get(name) or []
            if pts:
                ax.plot([t for t, _ in pts], [p for _, p in pts], style, label=name, ms=3)
        ax.set_xscale("log")
        ax.set_title(r["image"], fontsize=8)
        ax.set_xlabel("seconds of fitting")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"decoded PSNR dB ({a.bits} bits)")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    ap.add_argument("--images", default="kodim01,kodim05,kodim13,kodim15,kodim20,kodim23")
    ap.add_argument("--param", default="mlp", choices=["mlp", "doh"])
    ap.add_argument("--arch", default="28x9")
    ap.add_argument("--bits", type=int, default=16)
    ap.add_argument("--crop", type=int, default=256, help="centre crop side; 0 = the full image")
    ap.add_argument("--T", type=float, default=300.0, help="seconds of the reference runs")
    ap.add_argument("--budgets", default="10,30,60")
    ap.add_argument("--every", type=float, default=5.0, help="seconds between checkpoints (growing after 8)")
    ap.add_argument("--methods", default="recipe,inrzip,baseline")
    ap.add_argument("--baseline-src", type=Path)
    ap.add_argument("--init", default="siren-28x9-div2k", help="the shipped init of the `meta` method (--init)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="where the recipe and inrzip fit (the baseline: CPU only)")
    ap.add_argument("--out", type=Path, default=Path("results/ttq"))
    a = ap.parse_args(argv)
    a.budgets = [float(b) for b in a.budgets.split(",")]
    a.methods = set(a.methods.split(","))
    torch.set_num_threads(a.threads)
    a.out.mkdir(parents=True, exist_ok=True)
    stem = f"ttq_{a.param}_{a.arch}_{a.crop or 'full'}"
    rows = []
    for image in a.images.split(","):
        rows.append(run_image(image, a))
        print(json.dumps({k: v for k, v in rows[-1].items() if k not in ("recipe", "preset", "baseline")}), flush=True)
        (a.out / f"{stem}.json").write_text(json.dumps({"argv": sys.argv[1:], "date": time.strftime("%Y-%m-%d %H:%M"),
                                                        "torch": torch.__version__, "rows": rows}, indent=1))
        (a.out / f"{stem}.md").write_text(markdown(rows, a))
        plot(rows, a.out / f"{stem}.png", a)
    print(markdown(rows, a))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
