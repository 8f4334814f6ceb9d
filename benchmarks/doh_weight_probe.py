"""The screening behind D'OH's ``adam-weights`` default (docs/fitting.md, "D'OH: Adam on the weights"): one D'OH
28x9 fit of a 256x256 centre crop, stepped three ways, the *float* network's PSNR every 10 epochs (a screen; the
decoded files are measured by ``time_to_quality.py``):

    python benchmarks/doh_weight_probe.py kodim05 adam 0 300 --final 0.22     # Adam on z, its default rate
    python benchmarks/doh_weight_probe.py kodim05 diag 1e-3 300               # Adam on W, z += B^T dW / |b_j|^2
    python benchmarks/doh_weight_probe.py kodim05 proj 1e-3 300               # Adam on W, z += (B^T B)^-1 B^T dW

``diag`` is what ``nets/weight_space.py`` ships; ``proj`` precomputes the pseudo-inverse of B in float32 (Gram
matrix, Cholesky, triangular solve; its set-up seconds are printed, and counted in ``--seconds`` with
``--count-setup``). The LR decays to ``--final`` of its start over the epochs (over ``--seconds`` of fitting when given);
``--beta1`` is Adam's on W. ``--every K`` carries the weight-space steps onto z only every K steps (in between Adam
steps the weights as an MLP's, and a step costs no product with B: at batch 8192 on a 256 crop the two products are
about 60% of a step; the trainer carries every 4 since this screen, docs/fitting.md):

    python benchmarks/doh_weight_probe.py kodim05 diag 1e-3 100000 --seconds 60 --every 4 --count-setup
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from time_to_quality import load_crop  # noqa: E402

from inrzip.api import CompressConfig, FitConfig, field_of, prepare  # noqa: E402
from inrzip.fit.losses import LOSSES  # noqa: E402
from inrzip.nets.networks import forward, layer_shapes  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("image")
    ap.add_argument("method", choices=["adam", "diag", "proj"])
    ap.add_argument("lr", type=float, help="0: the default latent rate (adam)")
    ap.add_argument("epochs", type=int)
    ap.add_argument("--final", type=float, default=0.05, help="LR at the end / at the start")
    ap.add_argument("--beta1", type=float, default=0.9)
    ap.add_argument("--every", type=int, default=1, help="diag/proj: carry the steps onto z every K steps (between, "
                    "Adam steps the weights alone, with no B product)")
    ap.add_argument("--seconds", type=float, default=0.0, help="stop after this much fitting time (0: the epochs)")
    ap.add_argument("--count-setup", action="store_true", help="--seconds includes the set-up (proj's Gram matrix)")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    sig = load_crop(a.data / f"{a.image}.png", 256)
    prep = prepare(sig, CompressConfig(parameterization="doh", arch="28x9", bits=8,
                                       fit=FitConfig(seed=0, optimizer="adam")))
    spec, param, fc = prep.spec, prep.param, prep.config.fit
    lr, loss_fn, B, shapes = a.lr or fc.lr, LOSSES.get(fc.loss), param.B, layer_shapes(prep.spec)
    t0 = time.perf_counter()
    if a.method == "proj":
        pinv = torch.cholesky_solve(B.T.contiguous(), torch.linalg.cholesky(B.T @ B))  # (B^T B)^-1 B^T, float32
    col = (B * B).sum(0)
    setup = time.perf_counter() - t0
    z, biases = param.z, list(param.biases)
    opt = torch.optim.Adam([z, *biases] if a.method == "adam" else biases, lr=lr, betas=fc.betas)
    m, v, t = torch.zeros(B.shape[0]), torch.zeros(B.shape[0]), 0
    gen, hist, fit_s = torch.Generator().manual_seed(0), [], setup if a.count_setup else 0.0
    bz = (B @ z).detach()
    w = bz.clone()  # the weights Adam steps (diag / proj); equal to B z after every carry

    def carry() -> None:  # the weight-space steps since the last carry, onto z; then W = B z again
        with torch.no_grad():
            z.add_(pinv @ (w - bz) if a.method == "proj" else (B.T @ (w - bz)) / col)
            bz.copy_(B @ z)
            w.copy_(bz)

    for ep in range(a.epochs):
        t1 = time.perf_counter()
        for g in opt.param_groups:
            g["lr"] = lr * a.final ** (min(fit_s / a.seconds, 1.0) if a.seconds else ep / a.epochs)  # over the budget
        for x, y in sig.batches(fc.batch_size, gen, torch.device("cpu")):
            flat = B @ z if a.method == "adam" else w.detach().clone().requires_grad_()
            layers, s = [], 0
            for k, (o, i) in enumerate(shapes):
                layers.append((flat[s:s + o * i].view(o, i), biases[k]))
                s += o * i
            loss = loss_fn(forward(spec, layers, x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if a.method != "adam":  # Adam's step on W, carried onto z
                g, t = flat.grad, t + 1
                m.mul_(a.beta1).add_(g, alpha=1 - a.beta1)
                v.mul_(fc.betas[1]).addcmul_(g, g, value=1 - fc.betas[1])
                u = (m / (1 - a.beta1 ** t)) / ((v / (1 - fc.betas[1] ** t)).sqrt() + 1e-8)
                w.sub_(opt.param_groups[0]["lr"] * u)
                if t % a.every == 0:
                    carry()
        fit_s += time.perf_counter() - t1
        done = ep + 1 == a.epochs or (a.seconds and fit_s >= a.seconds)
        if (ep + 1) % 10 == 0 or done:
            if a.method != "adam" and t % a.every:
                carry()  # the file's network: B z
            with torch.no_grad():
                psnr = sig.evaluate(field_of(spec, param.layers()))["psnr"]
            hist.append((ep + 1, round(fit_s, 1), round(psnr, 3)))
            print(a.image, a.method, lr, *hist[-1], flush=True)
        if done:
            break
    print(json.dumps({"image": a.image, "method": a.method, "lr": lr, "final": a.final, "beta1": a.beta1,
                      "every": a.every,
                      "setup_s": setup, "history": hist}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
