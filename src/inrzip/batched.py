"""Fit K networks of one architecture in one pass: stacked weights, shared coordinates, one step.

For sweeps (K seeds, K learning rates, K latent sizes of the same WxL) or K images of the same
size: every step draws one batch of coordinates, evaluates all K models with batched matmuls
(``(K, N, width)`` activations through the fused SIREN stack of ``engine/siren.py``) and updates
them with one fused Adam holding one parameter group per model. Model k sees exactly the batches,
initial weights and optimiser settings of ``fit(signals[k], spec, params[k], cfgs[k])``, so the
results equal K separate fits up to float rounding (tests/test_fast_fit.py).
"""

from __future__ import annotations

import math
import time
from typing import Callable, Sequence

import torch

from . import engine as engines
from .errors import InrzipError
from .fitting import LOSSES, FitConfig, FitResult, _validate, default_lr, lr_schedule, make_layers_fn
from .networks import ACTIVATIONS, Layers, NetworkSpec, positional_encoding
from .parameterizations import Parameterization
from .runtime import tune_allocator
from .signals.base import Signal

__all__ = ["fit_many", "stack_layers", "batched_forward"]

# Settings that fix the shared batches and the loop; the others (lr, betas, gamma, warm-up, loss,
# QAT) may differ per model.
SHARED_SETTINGS = ("epochs", "batch_size", "seed", "device", "time_budget", "optimizer", "engine", "threads",
                   "precision")


def stack_layers(per_model: Sequence[Layers]) -> Layers:
    """K models' layers -> one list of (W (K, out, in), b (K, out)); differentiable (torch.stack)."""
    return [(torch.stack([m[k][0] for m in per_model]), torch.stack([m[k][1] for m in per_model]))
            for k in range(len(per_model[0]))]


def batched_forward(spec: NetworkSpec, layers: Layers, coords: torch.Tensor) -> torch.Tensor:
    """Generic autograd forward of K stacked models (any activation): coords (N, in) -> (K, N, out)."""
    act = ACTIVATIONS[spec.activation].fn
    h = positional_encoding(coords, spec.pe_freqs)
    h = h.expand(layers[0][0].shape[0], *h.shape)
    for w, b in layers[:-1]:
        h = act(torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2)), spec.omega)
    w, b = layers[-1]
    return torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))


def _check(signals: Sequence[Signal], params: Sequence[Parameterization], cfgs: Sequence[FitConfig]) -> None:
    if not params or len(signals) != len(params) or len(cfgs) != len(params):
        raise InrzipError("fit_many needs one signal (or K), K parameterizations and one config (or K)")
    for cfg in cfgs:
        _validate(cfg)
        if cfg.optimizer != "adam":
            raise InrzipError(f"fit_many trains with Adam only (got {cfg.optimizer!r}); use fit() for others")
    for name in SHARED_SETTINGS:
        if len({repr(getattr(c, name)) for c in cfgs}) > 1:
            raise InrzipError(f"fit_many: all configs must share {name!r} (it fixes the common batches)")
    first = signals[0]
    for s in signals:
        if type(s).predict is not Signal.predict:
            raise InrzipError(f"fit_many needs signals whose prediction is the field itself; fit {s.kind} one by one")
        if type(s) is not type(first) or s.num_samples() != first.num_samples():
            raise InrzipError("fit_many: signals must be of one kind and size (they share coordinates)")


def _batches(signals: Sequence[Signal], cfg: FitConfig, gens: list[torch.Generator], device: torch.device):
    """(shared inputs, targets (K, B, out)) per step; every signal's own batches, drawn with equal seeds."""
    unique = {id(s): s for s in signals}
    if len(unique) == 1:
        for inputs, targets in signals[0].batches(cfg.batch_size, gens[0], device):
            yield inputs, targets.expand(len(signals), *targets.shape)
        return
    iters = [s.batches(cfg.batch_size, g, device) for s, g in zip(signals, gens)]
    for parts in zip(*iters):
        inputs = parts[0][0]
        if any(not torch.equal(p[0], inputs) for p in parts):  # e.g. a 512x768 and a 768x512 image
            raise InrzipError("fit_many: signals produced different batches; they must share coordinates")
        yield inputs, torch.stack([p[1] for p in parts])


def fit_many(signals: Signal | Sequence[Signal], spec: NetworkSpec, params: Sequence[Parameterization],
             cfg: FitConfig | Sequence[FitConfig],
             on_epoch: Callable[[int, list[float]], None] | None = None) -> list[FitResult]:
    """Fit ``params[k]`` to ``signals[k]`` (or one shared signal) together; one ``FitResult`` per model."""
    k = len(params)
    signals = [signals] * k if isinstance(signals, Signal) else list(signals)
    cfgs = [cfg] * k if isinstance(cfg, FitConfig) else list(cfg)
    _check(signals, params, cfgs)
    c0 = cfgs[0]
    tune_allocator()
    device = torch.device(c0.device)
    eng = engines.resolve_engine(c0.engine, c0.epochs * signals[0].num_samples() * k)
    groups = []
    for p, c, s in zip(params, cfgs, signals):
        p.to(device)
        groups.append({"params": [t for t in p.parameters() if t.requires_grad],
                       "lr": c.lr if c.lr is not None else default_lr(p, s), "betas": c.betas})
    opt = engines.make_adam(groups, groups[0]["lr"], c0.betas, eng.fused_adam)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, [lr_schedule(c, p) for c, p in zip(cfgs, params)])
    results = [FitResult(0, 0.0) for _ in range(k)]
    layer_fns = [make_layers_fn(p, c, r.qat_states) for p, c, r in zip(params, cfgs, results)]
    losses = [LOSSES[c.loss or s.default_loss] for c, s in zip(cfgs, signals)]
    one_loss = losses[0] if len(set(losses)) == 1 else None  # then one pass computes all K losses
    qat_from = [int(c.qat_start * c.epochs) for c in cfgs]  # as in fit(): float epochs before QAT
    gens = [torch.Generator().manual_seed(c0.seed) for _ in range(k)]
    start = time.perf_counter()
    with engines.using_threads(c0.threads):  # restored on divergence or Ctrl-C too
        fast = eng.forward(spec, device, c0.precision) if eng.kernel is not None and spec.activation == "sine" else None
        if fast is None and c0.precision != "fp32":
            raise InrzipError(f"precision {c0.precision} needs a sine network and the fast or compiled engine")
        net = fast or (lambda layers, x: batched_forward(spec, layers, x))
        for epoch in range(c0.epochs):
            totals, n = torch.zeros(k, dtype=torch.float64, device=device), 0  # on the device: no sync per step
            for inputs, targets in _batches(signals, c0, gens, device):
                per_layers = [f() if epoch >= q else p.layers() for f, q, p in zip(layer_fns, qat_from, params)]
                pred = net(stack_layers(per_layers), inputs)  # (K, B, out)
                per_model = (one_loss(pred, targets) if one_loss is not None
                             else torch.stack([fn(pred[j], targets[j]) for j, fn in enumerate(losses)]))
                opt.zero_grad(set_to_none=True)
                per_model.sum().backward()
                opt.step()
                totals += per_model.detach()
                n += 1
            sched.step()
            means = (totals.cpu() / max(n, 1)).tolist()
            bad = [j for j, m in enumerate(means) if not math.isfinite(m)]
            if bad:
                raise InrzipError(f"training of model(s) {bad} diverged at epoch {epoch + 1}; lower their lr")
            elapsed = time.perf_counter() - start
            for r, m in zip(results, means):
                r.history.append((epoch + 1, m, elapsed))
                r.epochs = epoch + 1
            if on_epoch is not None:
                on_epoch(epoch + 1, means)
            if c0.time_budget is not None and elapsed >= c0.time_budget:
                break
        for r in results:
            r.seconds = time.perf_counter() - start
    return results
