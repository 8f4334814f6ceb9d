"""One trainer for every signal kind and any number of models: ``fit`` is ``fit_many`` with K = 1.

K networks of one architecture (K seeds, learning rates, latent sizes, QAT settings, or K images of one
size) are trained in one pass: every step draws one batch of coordinates, evaluates all K models (stacked
weights ``(K, out, in)`` through the fused SIREN stack of ``engine/siren.py`` or the generic forward), and
updates them with one optimizer holding one parameter group per model. Model k sees exactly the batches,
initial weights and optimizer settings of ``fit(signals[k], spec, params[k], cfgs[k])``, so the results
equal K separate fits up to float rounding (tests/test_fast_fit.py).

Budgets are in epochs (full passes over the signal's samples, as the papers count them) with an optional
wall-clock cap checked on every step; QAT starts after a float warm-up given as a fraction of the epochs or
of the time budget, whichever comes first.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

import torch
from tqdm.auto import tqdm

from ..config import FitConfig
from ..errors import InrzipError
from ..interrupts import raise_if_requested
from ..nets.networks import Layers, NetworkSpec, stack_layers
from ..nets.parameterizations import Parameterization
from ..nets.weight_space import WeightSpace, weight_space_for
from ..quant import FixedGrid, LearnedGrids, QATState, get_quantizer
from ..signals.base import Signal
from . import engine as engines
from .defaults import BUDGET_EPOCHS, resolve_fit
from .guard import Guard
from .losses import LOSSES, LossFn
from .optim import make_optimizer
from .rate import estimated_bits
from .runtime import tune_allocator, using_threads
from .schedules import lr_factor, progress

__all__ = ["FitResult", "fit", "fit_many", "SHARED_SETTINGS", "EpochHook"]

log = logging.getLogger(__name__)

# Settings that fix the shared batches and the loop; the others (lr, betas, gamma, warm-up, loss, QAT)
# may differ per model.
SHARED_SETTINGS = ("epochs", "batch_size", "seed", "device", "time_budget", "optimizer", "engine", "threads",
                   "precision")


@dataclass
class FitResult:
    """What a fit did: epochs run, seconds, the loss history and, after QAT, the tables training saw."""

    epochs: int = 0
    seconds: float = 0.0  # fitting time: the clock stops while ``on_epoch`` hooks (quality checks) run
    history: list[tuple[int, float, float]] = field(default_factory=list)  # (epoch, mean loss, fit seconds)
    qat_states: dict[str, QATState | FixedGrid] = field(default_factory=dict)  # per stored tensor, when QAT ran
    events: list[str] = field(default_factory=list)  # rollbacks, restored best states, early stops

    def then(self, more: FitResult, note: str) -> FitResult:
        """This fit followed by ``more`` (a second stage on the same weights), as one record."""
        history = [(self.epochs + e, v, self.seconds + s) for e, v, s in more.history]
        return FitResult(self.epochs + more.epochs, self.seconds + more.seconds, self.history + history,
                         more.qat_states, [*self.events, *more.events, note])


@dataclass
class _Model:
    """One of the K models of a pass: its signal, weights, resolved settings and QAT state."""

    signal: Signal
    param: Parameterization
    cfg: FitConfig
    loss: LossFn
    fixed: dict[str, FixedGrid] | LearnedGrids | None = None  # QAT on a chosen quantization, from the first step
    result: FitResult = field(default_factory=FitResult)
    weights: WeightSpace | None = None  # D'OH trained on its weights (``adam-weights``), set by ``start``

    def __post_init__(self) -> None:
        if self.fixed is not None:
            if set(self.fixed) != set(self.param.stored()):
                raise InrzipError("fixed QAT grids must name every stored tensor of the network")
            self.result.qat_states = {} if isinstance(self.fixed, LearnedGrids) else dict(self.fixed)
        elif self.cfg.qat_quantizer is not None:
            q = get_quantizer(self.cfg.qat_quantizer)
            self.result.qat_states = {k: QATState(q, self.cfg.qat_bits, self.cfg.qat_refresh)
                                      for k in self.param.stored()}

    def qat_active(self, epoch: int, elapsed: float) -> bool:
        """QAT after the float warm-up: by epochs, or by time when a budget may end the fit first."""
        c = self.cfg
        if self.fixed is not None:
            return True
        if c.qat_quantizer is None:
            return False
        return epoch >= int(c.qat_start * c.epochs) or (c.time_budget is not None
                                                       and elapsed >= c.qat_start * c.time_budget)

    def rate_term(self) -> torch.Tensor:
        """lambda x the estimated coded bits per sample of the stored values (entropy-aware training, ``rate.py``)."""
        c = self.cfg
        if not c.rate_lambda:
            return torch.zeros((), device=next(iter(self.param.stored().values())).device)
        bits = estimated_bits(self.param.stored().values(), c.rate_bits)
        return c.rate_lambda * bits / self.signal.num_samples()

    def start(self) -> list[torch.Tensor]:
        """The tensors the optimizer holds. ``adam-weights`` trains a D'OH network's weights (nets/weight_space.py);
        fine-tuning at fixed levels acts on the stored latent, so it trains that as ``adam`` does (QAT and a rate
        term with ``adam-weights`` are refused by ``check_fit``)."""
        if self.cfg.optimizer == "adam-weights" and self.fixed is None:
            self.weights = weight_space_for(self.param, self.cfg.batch_size)
        if self.weights is not None:
            return self.weights.trained()
        grids = [self.fixed.theta] if isinstance(self.fixed, LearnedGrids) else []
        return [t for t in self.param.parameters() if t.requires_grad] + grids

    def after_step(self) -> None:
        """Count a weight-space step (carried onto the stored latent every few steps); hold the file's size while
        learned steps move (``LearnedGrids.keep_rate``)."""
        if self.weights is not None:
            self.weights.step_done()
        if isinstance(self.fixed, LearnedGrids):
            self.fixed.keep_rate()

    def end_epoch(self) -> None:
        """Carry the weight-space steps not yet carried, so the guard, the hooks and the file see ``B z``."""
        if self.weights is not None:
            self.weights.flush()

    def layers(self, qat: bool) -> Layers:
        if not qat:
            return self.weights.layers() if self.weights is not None else self.param.layers()
        if isinstance(self.fixed, LearnedGrids):
            return self.param.layers_from(self.fixed(self.param.stored()))
        states = self.result.qat_states
        return self.param.layers_from({k: states[k](v) for k, v in self.param.stored().items()})


# Called after every epoch with (epochs done, per-model mean losses); returning True ends the fit there.
EpochHook = Callable[[int, list[float]], "bool | None"]


def fit(signal: Signal, spec: NetworkSpec, param: Parameterization, cfg: FitConfig,
        on_epoch: Callable[[int, float], bool | None] | None = None) -> FitResult:
    """Fit ``param`` so that the network matches ``signal``; returns timing and the loss history.
    ``on_epoch(epoch, mean_loss)`` may return True to stop."""
    hook = None if on_epoch is None else (lambda epoch, means: on_epoch(epoch, means[0]))
    return fit_many([signal], spec, [param], cfg, hook)[0]


def fit_many(signals: Signal | Sequence[Signal], spec: NetworkSpec, params: Sequence[Parameterization],
             cfg: FitConfig | Sequence[FitConfig], on_epoch: EpochHook | None = None,
             fixed: Sequence[dict[str, FixedGrid] | LearnedGrids] | None = None) -> list[FitResult]:
    """Fit ``params[k]`` to ``signals[k]`` (or one shared signal) together; one ``FitResult`` per model.
    ``fixed[k]``: train model k against these quantization grids from the first step (``FixedGrid`` per tensor, or
    ``LearnedGrids``, whose ranges train too)."""
    k = len(params)
    signals = [signals] * k if isinstance(signals, Signal) else list(signals)
    cfgs = [cfg] * k if isinstance(cfg, FitConfig) else list(cfg)
    if not params or len(signals) != k or len(cfgs) != k:
        raise InrzipError("fit_many needs one signal (or K), K parameterizations and one config (or K)")
    grids = [None] * k if fixed is None else list(fixed)
    if len(grids) != k:
        raise InrzipError("fit_many needs one set of fixed grids per model")
    models = [_Model(s, p, c, LOSSES.get(c.loss), g) for s, p, c, g in
              zip(signals, params, [resolve_fit(c, s, p) for c, s, p in zip(cfgs, signals, params)], grids)]
    _check(models)
    tune_allocator()
    with using_threads(models[0].cfg.threads):  # restored on divergence or Ctrl-C too
        return _train(spec, models, on_epoch)


def _check(models: list[_Model]) -> None:
    for name in SHARED_SETTINGS:
        if len({repr(getattr(m.cfg, name)) for m in models}) > 1:
            raise InrzipError(f"fit_many: all configs must share {name!r} (it fixes the common batches)")
    first = models[0].signal
    for m in models:
        if type(m.signal) is not type(first) or m.signal.num_samples() != first.num_samples():
            raise InrzipError("fit_many: signals must be of one kind and size (they share coordinates)")


def _batches(models: list[_Model], gens: list[torch.Generator], device: torch.device,
             encode: Callable[[torch.Tensor], torch.Tensor] | None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(shared inputs, targets (K, B, out)) per step; every signal's own batches, drawn with equal seeds; the
    inputs mapped by ``encode`` when it is given (``Signal.encoded_batches``)."""
    size = models[0].cfg.batch_size
    k = len(models)

    def epoch(m: _Model, g: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return m.signal.batches(size, g, device) if encode is None else m.signal.encoded_batches(size, g, device, encode)
    if len({id(m.signal) for m in models}) == 1:
        for inputs, targets in epoch(models[0], gens[0]):
            yield inputs, targets.expand(k, *targets.shape)
        return
    iters = [epoch(m, g) for m, g in zip(models, gens)]
    for parts in zip(*iters):
        inputs = parts[0][0]
        if any(not torch.equal(p[0], inputs) for p in parts):  # e.g. a 512x768 and a 768x512 image
            raise InrzipError("fit_many: signals produced different batches; they must share coordinates")
        yield inputs, torch.stack([p[1] for p in parts])


def _predictor(spec: NetworkSpec, models: list[_Model], net: engines.Forward
               ) -> Callable[[list[Layers], torch.Tensor], torch.Tensor]:
    """per-model layers, inputs -> predictions (K, B, out): one batched pass when the signal's predictions
    are the field itself, else each model through its signal (e.g. NeRF's volume rendering)."""
    if type(models[0].signal).predicts_field():
        if len(models) == 1:
            return lambda layers, x: net(layers[0], x).unsqueeze(0)
        return lambda layers, x: net(stack_layers(layers), x)

    def each(layers: list[Layers], x: torch.Tensor) -> torch.Tensor:
        return torch.stack([m.signal.predict(lambda c, lay=lay: net(lay, c), x) for m, lay in zip(models, layers)])
    return each


def _loss_fn(models: list[_Model]) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """(K, B, out) predictions and targets -> (K,) losses, in one pass when the models share a loss."""
    if len({m.loss for m in models}) == 1:
        return models[0].loss
    return lambda pred, targets: torch.stack([m.loss(pred[j], targets[j]) for j, m in enumerate(models)])


def _train(spec: NetworkSpec, models: list[_Model], on_epoch: EpochHook | None) -> list[FitResult]:
    c0 = models[0].cfg
    device = torch.device(c0.device)
    open_ended = c0.epochs >= BUDGET_EPOCHS and c0.time_budget is not None  # the clock ends it
    # the clock starts before the engine is built: loading or compiling its kernel is part of the fit's time
    start, paused = time.perf_counter(), [0.0]  # paused: seconds spent in on_epoch (checks are not fitting)
    eng = engines.resolve_engine(c0.engine, c0.epochs * models[0].signal.num_samples() * len(models),
                                 c0.time_budget if open_ended else None, device)
    groups = []
    for m in models:
        m.param.to(device)
        if isinstance(m.fixed, LearnedGrids):
            m.fixed.to(device)
        groups.append({"params": m.start(), "lr": m.cfg.lr, "betas": m.cfg.betas})
    opt = make_optimizer(c0.optimizer, groups, eng.fused_adam)
    guard = Guard(opt.torch_opt, [m.cfg.loss for m in models], enabled=[bool(m.cfg.guard) for m in models])
    # a field's inputs are encoded ahead of the forward, so an image's pixel grid is encoded once (not per batch)
    encode = eng.encoder(spec) if type(models[0].signal).predicts_field() else None
    predict = _predictor(spec, models, eng.forward(spec, device, c0.precision, encoded=encode is not None))
    loss_fn = _loss_fn(models)
    gens = [torch.Generator().manual_seed(c0.seed) for _ in models]
    steps = max(1, math.ceil(models[0].signal.num_samples() / c0.batch_size))
    clock = lambda: time.perf_counter() - start - paused[0]  # noqa: E731
    out_of_time = lambda: c0.time_budget is not None and clock() >= c0.time_budget  # noqa: E731
    bar = _progress_bar(models, open_ended)
    means = [math.nan] * len(models)
    rated = any(m.cfg.rate_lambda for m in models)
    for epoch in range(c0.epochs):
        qat = [m.qat_active(epoch, clock()) for m in models]
        totals, n = torch.zeros(len(models), dtype=torch.float64, device=device), 0  # no sync per step
        for inputs, targets in _batches(models, gens, device, encode):
            raise_if_requested()  # Ctrl-C whose KeyboardInterrupt something swallowed (interrupts.py)
            _set_rates(opt.torch_opt, models, guard, progress(epoch + n / steps, clock(), c0), epoch + n / steps)
            losses = loss_fn(predict([m.layers(q) for m, q in zip(models, qat)], inputs), targets)
            if rated:
                losses = losses + torch.stack([m.rate_term() for m in models])
            opt.torch_opt.zero_grad(set_to_none=True)
            losses.sum().backward()
            opt.step(losses)
            for m in models:
                m.after_step()
            totals, n = totals + losses.detach(), n + 1
            if out_of_time():  # checked per step: one epoch of a big signal can outlast the budget
                break
        for m in models:
            m.end_epoch()
        means = (totals.cpu() / max(n, 1)).tolist()
        _record(models, guard.after_epoch(epoch + 1, means, qat))
        for m, mean in zip(models, means):
            m.result.history.append((epoch + 1, mean, clock()))
            m.result.epochs = epoch + 1
        loss = f"{means[0]:.4g}" if len(means) == 1 else f"{min(means):.4g}..{max(means):.4g}"
        bar.set_postfix(**({"epoch": epoch + 1} if open_ended else {}), loss=loss, refresh=False)
        bar.update(round(min(clock(), c0.time_budget)) - bar.n if open_ended else 1)
        if _call(on_epoch, epoch + 1, means, paused) or out_of_time() or \
                all(guard.lr_scale(k) == 0 for k in range(len(models))):
            break
    bar.close()
    _record(models, guard.finish(means))
    for m in models:
        m.result.seconds = clock()
    return [m.result for m in models]


def _progress_bar(models: list[_Model], open_ended: bool) -> tqdm:
    """The bar counts what ends the fit: seconds of the budget when the clock does, else epochs."""
    c0 = models[0].cfg
    desc = "fine-tuning" if any(m.fixed is not None for m in models) else "fitting"  # at a file's levels
    return tqdm(total=round(c0.time_budget) if open_ended else c0.epochs, desc=desc, unit="epoch",
                disable=not c0.progress, leave=False,
                bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} s [{elapsed}<{remaining}{postfix}]" if open_ended
                else None)


def _call(hook: EpochHook | None, epoch: int, means: list[float], paused: list[float]) -> bool:
    """Run the epoch hook with the fit's clock stopped; True ends the fit."""
    if hook is None:
        return False
    t0 = time.perf_counter()
    stop = bool(hook(epoch, means))
    paused[0] += time.perf_counter() - t0
    return stop


def _set_rates(opt: torch.optim.Optimizer, models: list[_Model], guard: Guard, p: float, done: float) -> None:
    """Each model's rate at progress ``p`` of the planned run (``done`` epochs run), times its guard's scale
    after rollbacks."""
    for k, (group, m) in enumerate(zip(opt.param_groups, models)):
        group["lr"] = m.cfg.lr * lr_factor(m.cfg, p, done) * guard.lr_scale(k)


def _record(models: list[_Model], events: list[tuple[int, str]]) -> None:
    for k, text in events:
        models[k].result.events.append(text)
        level = logging.WARNING if "diverged" in text else logging.INFO  # a restored best state is routine
        log.log(level, "inrzip: %s%s", "" if len(models) == 1 else f"model {k}: ", text)
