"""Time-to-quality ablation harness for SIREN / D'OH image fits (256x256 Kodak crops, 1 thread): the runs behind
docs/fitting.md's "Time to quality" tables (results/ttq_ablation/).

It trains with the building blocks of inrzip as of commit d533178 (fused SIREN stack, fused Adam, MLP / D'OH
parameterizations) in its own loop, so every technique can be switched on alone. Run it against a checkout of
that commit:

  git worktree add /tmp/inrzip-d533178 d533178
  INRZIP_SRC=/tmp/inrzip-d533178/src python benchmarks/ttq_ablation.py GROUP [--images kodim05,kodim15,...]
        [--crop c] [--budget 60] [--out results/ttq_ablation/GROUP.jsonl] [--only NAME,...]
  INRZIP_SRC=/tmp/inrzip-d533178/src python benchmarks/ttq_ablation.py --list
  python benchmarks/ttq_ablation_tables.py results/ttq_ablation/GROUP.jsonl --times 10,30,60 --per-image

Each run of a group's configs on each image appends one JSON line to the output file with the config, the
image, and the trajectory: evaluations at training-clock checkpoints (wall seconds of training only, the
evaluation itself is not counted; CPU seconds of this process, = wall seconds on an idle core; wall time
is in 'wall'), each with step, epoch, lr, PSNR of the float network (8-bit pixels and raw
float), PSNR of the 16-bit min-max quantized network (8-bit pixels), and the process CPU seconds.
Groups are defined in GROUPS below. One thread, one process: run groups one after another.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

torch.set_num_threads(1)
sys.path.insert(0, os.environ.get("INRZIP_SRC", "/tmp/inrzip-d533178/src"))

from inrzip.engine import make_adam, make_forward  # noqa: E402
from inrzip.networks import NetworkSpec, layer_shapes  # noqa: E402
from inrzip.networks import forward as ref_forward
from inrzip.parameterizations import DOH, MLP  # noqa: E402
from inrzip.quantizers import MinMax  # noqa: E402
from inrzip.runtime import tune_allocator  # noqa: E402
from PIL import Image  # noqa: E402

from inrzip.signals.image import image_grid  # noqa: E402

KODAK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "kodak")
HERE = os.path.dirname(os.path.abspath(__file__))
CHECKPOINTS = sorted(set([0.0, 0.5] + list(range(1, 11)) + list(range(12, 61, 2)) + [38.0]
                         + list(range(65, 301, 5)) + list(range(310, 1201, 10))))


# ----------------------------------------------------------------------------------------------- data
def load_crop(name: str, crop: str = "c", size: int = 256) -> np.ndarray:
    im = np.asarray(Image.open(f"{KODAK}/{name}.png").convert("RGB"))
    H, W = im.shape[:2]
    y0, x0 = {"c": ((H - size) // 2, (W - size) // 2), "tl": (0, 0), "br": (H - size, W - size),
              "tr": (0, W - size), "bl": (H - size, 0)}[crop]
    return np.ascontiguousarray(im[y0:y0 + size, x0:x0 + size])


def psnr_u8(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2) / 255.0 ** 2
    return float(10 * np.log10(1.0 / max(mse, 1e-20)))


def q16(t: torch.Tensor, bits: int = 16) -> torch.Tensor:
    q = MinMax()
    arr = t.detach().cpu().numpy().astype(np.float32).ravel()
    return torch.from_numpy(q.dequantize(q.quantize(arr, bits))).view_as(t)


@torch.no_grad()
def evaluate(spec, layers_fn_from, stored, coords, ref_u8) -> dict:
    """PSNR of float net (8-bit pixels, and raw float) and of the net from 16-bit minmax stored tensors."""
    h, w, _ = ref_u8.shape
    out = ref_forward(spec, layers_fn_from(stored), coords)
    raw = (out + 0.5).numpy().reshape(h, w, 3).astype(np.float64)
    ref = ref_u8.astype(np.float64) / 255.0
    p_raw = float(10 * np.log10(1.0 / max(np.mean((raw - ref) ** 2), 1e-20)))
    pix = np.clip(np.rint(raw * 255), 0, 255).astype(np.uint8)
    qstored = {k: q16(v) for k, v in stored.items()}
    outq = ref_forward(spec, layers_fn_from(qstored), coords)
    pixq = np.clip(np.rint((outq + 0.5).numpy().reshape(h, w, 3).astype(np.float64) * 255), 0, 255).astype(np.uint8)
    finite = bool(torch.isfinite(out).all())
    return {"psnr": psnr_u8(pix, ref_u8) if finite else float("nan"), "psnr_raw": p_raw,
            "psnr_q16": psnr_u8(pixq, ref_u8) if finite else float("nan")}


def downsample(ref_u8: np.ndarray, f: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Box-filtered f x f downsample; coordinates are the means of the fine pixel centres."""
    h, w, c = ref_u8.shape
    x = ref_u8.astype(np.float32) / 255.0 - 0.5
    x = x.reshape(h // f, f, w // f, f, c).mean(axis=(1, 3))
    fine = image_grid(h, w)  # (h*w, 2) x,y
    gx = fine[:, 0].view(h, w).view(h // f, f, w // f, f).mean(dim=(1, 3))
    gy = fine[:, 1].view(h, w).view(h // f, f, w // f, f).mean(dim=(1, 3))
    coords = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
    return coords.contiguous(), torch.from_numpy(x.reshape(-1, c)).contiguous()


# ---------------------------------------------------------------------------------------- schedules
def phase_value(phases, frac):
    """phases: [(start_fraction, value), ...] sorted; value of the last phase whose start <= frac."""
    v = phases[0][1]
    for s, val in phases:
        if frac >= s:
            v = val
    return v


def lr_factor(cfg, t, T, epoch):
    kind = cfg.get("sched", "exp_epoch")
    frac = min(t / T, 1.0) if T else 0.0
    warm = cfg.get("warm", 0.0)
    wf = min(1.0, frac / warm) if warm > 0 else 1.0
    if kind == "exp_epoch":  # inrzip default: gamma per completed epoch
        return wf * cfg.get("gamma", 0.999) ** epoch
    if kind == "exp_time":  # falls to final_frac at the budget
        return wf * cfg.get("final", 0.74) ** frac
    if kind == "cos":  # warm-up, then cosine from 1 to floor at the budget
        if frac < warm:
            return wf
        p = (frac - warm) / max(1e-9, 1 - warm)
        fl = cfg.get("floor", 0.0)
        return fl + (1 - fl) * 0.5 * (1 + math.cos(math.pi * min(p, 1.0)))
    if kind == "const":
        return wf
    raise ValueError(kind)


# ------------------------------------------------------------------------------------------- models
def make_spec(cfg):
    return NetworkSpec(2, 3, cfg.get("width", 28), cfg.get("hidden", 9), "sine", 30.0, cfg.get("pe_freqs", 0))


def cg_project(B: torch.Tensor, w: torch.Tensor, z0: torch.Tensor, iters: int) -> torch.Tensor:
    """Least squares min ||B z - w|| by conjugate gradients on the normal equations (CGLS)."""
    z = z0.clone()
    r = w - B @ z
    s = B.t() @ r
    p = s.clone()
    gamma = s.dot(s)
    for _ in range(iters):
        q = B @ p
        a = gamma / q.dot(q)
        z += a * p
        r -= a * q
        s = B.t() @ r
        g2 = s.dot(s)
        p = s + (g2 / gamma) * p
        gamma = g2
    return z


class Model:
    """Wraps MLP / DOH parameterizations with the options under test."""

    def __init__(self, cfg, spec):
        self.cfg, self.spec = cfg, spec
        alpha = cfg.get("alpha", 1.0)
        seed = cfg.get("seed", 0)
        nl = len(layer_shapes(spec))
        if cfg.get("param", "mlp") == "mlp":
            self.p = MLP(spec, seed=seed)
            with torch.no_grad():
                for k in range(min(nl - 1, cfg.get("alpha_upto", nl - 1))):  # default: all layers but the last
                    self.p.weights[k].mul_(alpha)
                if cfg.get("alpha_bias"):
                    for k in range(nl - 1):
                        self.p.biases[k].mul_(alpha)
        else:
            self.p = DOH(spec, seed=seed, latent_ratio=cfg.get("latent", 0.6), init=cfg.get("doh_init", "siren"))
            if alpha != 1.0:  # scale the bound of B_l for every layer but the last
                n_last = layer_shapes(spec)[-1][0] * layer_shapes(spec)[-1][1]
                with torch.no_grad():
                    self.p.B[: self.p.B.shape[0] - n_last].mul_(alpha)
        self.stored = self.p.stored
        self.layers = self.p.layers
        self.layers_from = self.p.layers_from

    def params(self):
        return [p for p in self.p.parameters() if p.requires_grad]


# -------------------------------------------------------------------------------------------- train
# The training clock is the process CPU time (1 thread): budgets, LR schedules and checkpoints use it, so
# a run that other jobs deschedule still gets its full budget of computation. Wall time is recorded too.
_CLK = time.process_time
_WALL = time.perf_counter

def train(cfg: dict, name: str, crop: str = "c", budget: float = 60.0, verbose: bool = True) -> dict:
    tune_allocator()
    torch.set_num_threads(1)
    torch.manual_seed(cfg.get("seed", 0))
    ref_u8 = load_crop(name, crop, cfg.get("size", 256))
    h, w, _ = ref_u8.shape
    coords = image_grid(h, w)
    targets = torch.from_numpy(ref_u8.reshape(-1, 3).astype(np.float32) / 255.0 - 0.5)
    N = coords.shape[0]
    spec = make_spec(cfg)
    engine = cfg.get("engine", "fast")
    fwd = make_forward(spec, "eager" if engine == "fast" else None)
    budget = cfg.get("budget", budget)
    max_epochs = cfg.get("max_epochs", 10 ** 9)
    gen = torch.Generator().manual_seed(cfg.get("seed", 0))
    loss_kind = cfg.get("loss", "log10")
    sampling = cfg.get("sampling", "uniform")
    batch_phases = cfg.get("batch_phases", [(0.0, cfg.get("batch", 8192))])
    c2f = cfg.get("c2f")  # [(start_frac, factor), ...] e.g. [(0, 4), (0.15, 2), (0.3, 1)]
    levels = {1: (coords, targets)}
    if c2f:
        for _, f in c2f:
            if f > 1:
                levels[f] = downsample(ref_u8, f)

    traj, t_train, cpu_train = [], 0.0, 0.0
    step, epoch = 0, 0
    ck = iter(CHECKPOINTS)
    next_ck = next(ck)
    model = None

    def do_eval(lr_now, loss_now, tag=""):
        nonlocal next_ck
        e = evaluate(spec, model.layers_from, {k: v.detach() for k, v in model.stored().items()}, coords, ref_u8)
        rec = {"t": round(t_train, 3), "wall": round(cpu_train, 3), "step": step, "epoch": round(epoch, 3),
               "lr": lr_now, "loss": loss_now, **{k: round(v, 3) for k, v in e.items()}}
        if tag:
            rec["tag"] = tag
        traj.append(rec)
        while next_ck is not None and t_train >= next_ck:
            next_ck = next(ck, None)
        return rec

    # -------- optional warm start for D'OH: an MLP trained briefly, projected onto span(B)
    t0w, c0w = _CLK(), _WALL()
    model = Model(cfg, spec)
    ws = cfg.get("warm_start")
    if ws:
        mcfg = dict(cfg, param="mlp", alpha=ws.get("alpha", 1.0))
        mlp = Model(mcfg, spec)
        if ws.get("init_from_B"):  # MLP starts at the D'OH init B z0 (so the init lies in span(B))
            with torch.no_grad():
                for (wd, bd), wm, bm in zip(model.layers(), mlp.p.weights, mlp.p.biases):
                    wm.copy_(wd)
                    bm.copy_(bd)
        opt = make_adam(mlp.params(), ws.get("lr", 2e-4), (0.99, 0.999), True)
        tw = ws["seconds"]
        tstart = _CLK()
        while _CLK() - tstart < tw:
            perm = torch.randperm(N, generator=gen)
            for s in range(0, N, 8192):
                idx = perm[s:s + 8192]
                pred = fwd(mlp.layers(), coords[idx])
                loss = torch.log10((pred - targets[idx]).square().mean() + 1e-12)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if _CLK() - tstart >= tw:
                    break
        with torch.no_grad():
            wflat = torch.cat([wm.detach().reshape(-1) for wm in mlp.p.weights])
            z = cg_project(model.p.B, wflat, model.p.z.detach(), ws.get("cg_iters", 40))
            model.p.z.copy_(z)
            for bd, bm in zip(model.p.biases, mlp.p.biases):
                bd.copy_(bm.detach())
            resid = float((model.p.B @ z - wflat).norm() / wflat.norm())
        cfg = dict(cfg, _proj_rel_resid=round(resid, 4))
        t_train += _CLK() - t0w
        cpu_train += _WALL() - c0w
        tmp_model = model
        model = mlp
        do_eval(0.0, None, tag="mlp_before_projection")
        model = tmp_model
        do_eval(0.0, None, tag="after_projection")

    base_lr = cfg["lr"] if "lr" in cfg else cfg["lr_n"] / model.p.latent  # D'OH: lr_n / latent size
    cfg = dict(cfg, _lr=base_lr)
    betas = tuple(cfg.get("betas", (0.99, 0.999)))
    if engine == "fast":
        opt = make_adam(model.params(), base_lr, betas, True)
    else:
        opt = torch.optim.Adam(model.params(), lr=base_lr, betas=betas)

    # importance sampling state
    is_p, is_mix = cfg.get("is_p", 1.0), cfg.get("is_mix", 0.5)
    err = None

    def full_err():
        with torch.no_grad():
            out = ref_forward(spec, model.layers(), coords)
            return (out - targets).square().sum(1)

    if not ws:
        do_eval(base_lr, None)
    t_start = _CLK()
    c_start = _WALL()
    t_seg_base, c_seg_base = t_train, cpu_train
    diverged = False
    steps_in_epoch, epoch_int, samples = 0, 0, 0
    if sampling == "is":
        err = full_err()
    while True:
        t_train = t_seg_base + (_CLK() - t_start)
        frac = t_train / budget
        if t_train >= budget or samples >= max_epochs * N:
            break
        f = phase_value(c2f, frac) if c2f else 1
        X, Y = levels[f]
        n = X.shape[0]
        B = min(phase_value(batch_phases, frac), n)
        # one "epoch" = n / B steps; uniform sampling goes through a permutation (like inrzip's batches)
        if sampling == "uniform":
            perm = torch.randperm(n, generator=gen)
            Xp, Yp = X.index_select(0, perm), Y.index_select(0, perm)
            batches = [(Xp[s:s + B], Yp[s:s + B], None, None) for s in range(0, n, B)]
        else:
            if f != 1:
                raise ValueError("IS with c2f not supported")
            batches = [None] * max(1, n // B)
        for bt in batches:
            t_train = t_seg_base + (_CLK() - t_start)
            lr_now = base_lr * lr_factor(cfg, t_train, budget, int(samples / N))
            for g in opt.param_groups:
                g["lr"] = lr_now
            if bt is None:  # importance sampling
                ep_ = err.pow(is_p / 2)
                probs = is_mix / N + (1 - is_mix) * ep_ / ep_.sum()
                cdf = torch.cumsum(probs, 0)
                idx = torch.searchsorted(cdf, torch.rand(B, generator=gen) * cdf[-1]).clamp_(max=N - 1)
                xb, yb = coords[idx], targets[idx]
                wts = 1.0 / (N * probs[idx])
                if cfg.get("is_corr", 1.0) != 1.0:
                    wts = wts.pow(cfg["is_corr"])
                    wts = wts / wts.mean()
            else:
                xb, yb, idx, wts = bt
            pred = fwd(model.layers(), xb)
            se = (pred - yb).square()
            if wts is not None:
                se_px = se.sum(1)
                mse = (se_px * wts).mean() / 3
            else:
                mse = se.mean()
            loss = torch.log10(mse + 1e-12) if loss_kind == "log10" else mse
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            steps_in_epoch += 1
            samples += xb.shape[0]
            if sampling == "is" and cfg.get("is_refresh", "fwd") == "fwd":
                err[idx] = se_px.detach()
            epoch = samples / N
            t_train = t_seg_base + (_CLK() - t_start)
            if next_ck is not None and t_train >= next_ck:
                cpu_train = c_seg_base + (_WALL() - c_start)
                ta, ca = _CLK(), _WALL()
                lv = float(loss.detach())
                rec = do_eval(lr_now, lv)
                if verbose and (len(traj) % 6 == 0):
                    print(f"  t={rec['t']:.1f}s step={step} ep={rec['epoch']:.1f} psnr={rec['psnr']:.2f} "
                          f"q16={rec['psnr_q16']:.2f} lr={lr_now:.2e}", flush=True)
                if not math.isfinite(lv):
                    diverged = True
                t_start += _CLK() - ta  # exclude evaluation from the training clock
                c_start += _WALL() - ca
            if diverged or t_train >= budget:
                break
        if diverged:
            break
        epoch_int += 1
        steps_in_epoch = 0
        epoch = samples / N
        if cfg.get("eval_epochs") and epoch_int in cfg["eval_epochs"]:
            t_train = t_seg_base + (_CLK() - t_start)
            cpu_train = c_seg_base + (_WALL() - c_start)
            ta, ca = _CLK(), _WALL()
            do_eval(lr_now, float(loss.detach()), tag=f"epoch{epoch_int}")
            t_start += _CLK() - ta
            c_start += _WALL() - ca
        if sampling == "is" and cfg.get("is_refresh", "fwd") == "epoch":
            err = full_err()
    t_train = t_seg_base + (_CLK() - t_start)
    cpu_train = c_seg_base + (_WALL() - c_start)
    do_eval(lr_now, float(loss.detach()), tag="final")
    return {"clock": "cpu", "cfg": cfg, "image": name, "crop": crop, "budget": budget, "diverged": diverged,
            "steps": step, "epochs": epoch, "traj": traj}


# ------------------------------------------------------------------------------------------- groups
B = {"lr": 2e-4, "loss": "log10", "batch": 8192, "sched": "exp_epoch", "gamma": 0.999}  # inrzip (b)
A = {"lr": 2e-4, "loss": "mse", "batch": 1024, "sched": "exp_epoch", "gamma": 0.999, "engine": "plain"}  # papers (a)


D = {"param": "doh", "pe_freqs": 10, "lr_n": 0.045, "loss": "log10", "batch": 8192, "sched": "exp_epoch",
     "gamma": 0.995, "budget": 60}


def v(**kw):
    return {**B, **kw}


GROUPS: dict[str, list[tuple[str, dict]]] = {
    "a_paper": [("a_paper", {**A, "budget": 300})],
    "b_default": [("b_default_300ep", v(max_epochs=300, budget=10 ** 6)),
                  ("b_default_long", v(budget=300, eval_epochs=[300]))],
    # ---- screening, 30 s budget (run with --images kodim05,kodim20)
    "s_base": [("b", v(budget=30, eval_epochs=[300]))],
    "s_alpha": [(f"alpha{a:g}", v(alpha=a, budget=30)) for a in (1.5, 2, 2.5, 3, 4)],
    "s_alpha2": [(f"alpha{a:g}", v(alpha=a, budget=30)) for a in (1.1, 1.2)]
                + [(f"alpha{a:g}_exptime_lr{lr:g}_to0.05", v(alpha=a, lr=lr, sched="exp_time", final=0.05, budget=30))
                   for a, lr in ((1.2, 1e-3),)]
                + [("alpha2_first_layer_only", v(alpha=2, alpha_upto=1, budget=30))],
    "s_alpha_shallow": [(f"28x3_alpha{a:g}", v(alpha=a, hidden=3, budget=30)) for a in (1, 2)],
    "s_loss": [("loss_mse", v(loss="mse", budget=30))],
    "s_lr_rerun": [(f"cos_lr{lr:g}_w5_cpuclock", v(lr=lr, sched="cos", warm=0.05, budget=30)) for lr in (1e-3, 2e-3)]
                  + [("exptime_lr2e-3_to0.05", v(lr=2e-3, sched="exp_time", final=0.05, budget=30))],
    "s_batch": [(f"batch{b}", v(batch=b, budget=30)) for b in (4096, 16384, 65536)]
               + [("batch_sched_4k_8k_16k", v(batch_phases=[(0, 4096), (0.33, 8192), (0.67, 16384)], budget=30))],
    "s_is": [("is_p1_mix.5_fwd", v(sampling="is", is_p=1, is_mix=0.5, budget=30)),
             ("is_p2_mix.5_fwd", v(sampling="is", is_p=2, is_mix=0.5, budget=30)),
             ("is_p1_mix.5_epoch", v(sampling="is", is_p=1, is_mix=0.5, is_refresh="epoch", budget=30))],
    "s_c2f": [("c2f_2x_25pct", v(c2f=[(0, 2), (0.25, 1)], budget=30)),
              ("c2f_4x10_2x25", v(c2f=[(0, 4), (0.10, 2), (0.25, 1)], budget=30))],
    "s_lr": [(f"cos_lr{lr:g}_w5", v(lr=lr, sched="cos", warm=0.05, budget=30)) for lr in (5e-4, 1e-3, 2e-3)]
            + [("const_lr1e-3", v(lr=1e-3, sched="const", budget=30)),
               ("exptime_lr1e-3_to0.05", v(lr=1e-3, sched="exp_time", final=0.05, budget=30)),
               ("exp_epoch_lr1e-3", v(lr=1e-3, budget=30))],
    # ---- confirmation, 4 images, 60 s
    "c_main": [("b_default", v(budget=60, eval_epochs=[300])),
               ("exptime_lr1e-3_to0.05", v(lr=1e-3, sched="exp_time", final=0.05, budget=60)),
               ("exptime_lr1e-3_to0.05_b4096", v(lr=1e-3, sched="exp_time", final=0.05, batch=4096, budget=60))],
    "c_budget": [(f"exptime_lr1e-3_to0.05_T{T}", v(lr=1e-3, sched="exp_time", final=0.05, budget=T)) for T in (10, 30)],
    "c_long": [("exptime_lr1e-3_to0.05_T300", v(lr=1e-3, sched="exp_time", final=0.05, budget=300))],
    "c_crops": [("b_default", v(budget=30, eval_epochs=[300])),
                ("exptime_lr1e-3_to0.05_T30", v(lr=1e-3, sched="exp_time", final=0.05, budget=30))],
    # ---- D'OH (library defaults: PE 10 freqs, init siren, lr 0.045/latent, gamma 0.995/epoch, batch 8192)
    "d_screen": [("doh_default", D),
                 ("doh_alpha1.2", {**D, "alpha": 1.2}),
                 ("doh_exptime_lrn0.045_to0.05", {**D, "sched": "exp_time", "final": 0.05}),
                 ("doh_exptime_lrn0.09_to0.05", {**D, "lr_n": 0.09, "sched": "exp_time", "final": 0.05}),
                 ("doh_warm10_fromB", {**D, "warm_start": {"seconds": 10, "lr": 2e-4, "init_from_B": True}}),
                 ("doh_warm10_mlpinit", {**D, "warm_start": {"seconds": 10, "lr": 2e-4}})],
    "d_extra": [("doh_b16384", {**D, "batch": 16384}),
                ("doh_alpha1.1_lrn0.03", {**D, "alpha": 1.1, "lr_n": 0.03})],
    "d_base": [("doh_default", D)],
    "d_alpha": [(f"doh_alpha{a:g}_lrn{ln:g}", {**D, "alpha": a, "lr_n": ln})
                for a, ln in ((1.5, 0.045), (1.5, 0.03), (2, 0.045), (2, 0.0225))],
    "d_lr": [(f"doh_lrn{ln:g}", {**D, "lr_n": ln}) for ln in (0.0225, 0.0675)],
    "d_warm": [("doh_warm10_mlpinit", {**D, "warm_start": {"seconds": 10, "lr": 2e-4}}),
               ("doh_warm10_fromB", {**D, "warm_start": {"seconds": 10, "lr": 2e-4, "init_from_B": True}})],
    "alpha": [(f"alpha{a}_lr{lr:g}", v(alpha=a, lr=lr)) for a in (1.5, 2, 2.5, 3, 4) for lr in (2e-4,)],
    "alpha_lr": [(f"alpha{a}_lr{lr:g}", v(alpha=a, lr=lr)) for a in (1, 2, 3) for lr in (5e-4, 1e-3, 2e-3)],
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("group", nargs="?")
    ap.add_argument("--images", default="kodim05,kodim15,kodim20,kodim23")
    ap.add_argument("--crop", default="c")
    ap.add_argument("--budget", type=float, default=60.0)
    ap.add_argument("--out")
    ap.add_argument("--only")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--config", help="JSON config for a one-off run named by --name")
    ap.add_argument("--name", default="adhoc")
    args = ap.parse_args()
    if args.list:
        for g, runs in GROUPS.items():
            print(g, [n for n, _ in runs])
        return
    runs = GROUPS[args.group] if not args.config else [(args.name, json.loads(args.config))]
    if args.only:
        keep = set(args.only.split(","))
        runs = [(n, c) for n, c in runs if n in keep]
    out = args.out or os.path.join(HERE, "results", f"{args.group or args.name}.jsonl")
    for name, cfg in runs:
        for img in args.images.split(","):
            load = os.getloadavg()
            print(f"[{time.strftime('%H:%M:%S')}] {name} {img}/{args.crop} load={load[0]:.2f}", flush=True)
            res = train(cfg, img, args.crop, args.budget)
            res["run"] = name
            res["loadavg_before"] = load
            res["loadavg_after"] = os.getloadavg()
            res["when"] = time.strftime("%Y-%m-%d %H:%M:%S")
            last = res["traj"][-1]
            print(f"   -> steps={res['steps']} epochs={res['epochs']:.1f} psnr={last['psnr']:.2f} "
                  f"q16={last['psnr_q16']:.2f} diverged={res['diverged']}", flush=True)
            with open(out, "a") as fh:
                fh.write(json.dumps(res) + "\n")


if __name__ == "__main__":
    main()
