"""A fit never ends worse than it was: keep each model's best state, roll a diverging one back.

After every epoch the guard compares each model's mean loss, on a log scale (log10 of the MSE, i.e. minus
PSNR/10 for images), with the best seen so far. A better epoch becomes the kept state (the trainable
tensors and their optimizer moments: small even for K models). An epoch whose loss is not finite, or
``DIVERGED`` decades above the best (5 dB for images), rolls that model back to its kept state and halves
its learning rate; after ``MAX_ROLLBACKS`` it stops training on its best state. When the fit ends, a model
whose last epoch is worse than its best by more than ``SLACK`` is restored to the best. Every action is
recorded in ``FitResult.events`` and reported by ``compress``.

Quantization-aware epochs (``noisy``) are judged apart. Their losses are those of the quantized network, so the
float best before QAT started is no yardstick (it would roll every QAT epoch back to the float weights), and
each refresh of the quantization tables moves the loss: at a few bits by more than ``DIVERGED`` from one epoch
to the next, and the best QAT epoch is often a lucky table that the same weights do not get again. So when
QAT starts the best is reset, and a QAT epoch diverges when it is ``QAT_DIVERGED`` above the median of the last
``RECENT`` QAT epochs (or not finite), not ``DIVERGED`` above the best (k-means QAT on CIFAR images moved 0.5-0.75
decades between epochs with nothing wrong). (Before, the CIFAR QAT fits of the quantization
study at its paper budget stopped after 4 rollbacks as early as epoch 10 of 2000.)
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

import torch

__all__ = ["Guard", "DIVERGED", "SLACK", "MAX_ROLLBACKS", "RECENT", "QAT_DIVERGED", "log_score"]

DIVERGED = 0.5  # decades of loss above the best: 5 dB of PSNR for an image
SLACK = 0.02  # decades a final epoch may be above the best before the best is restored (0.2 dB)
MAX_ROLLBACKS = 4
RECENT = 5  # QAT epochs whose median loss is the yardstick of a QAT divergence
QAT_DIVERGED = 1.0  # decades above that median (10 dB for an image)


def log_score(loss: float, loss_name: str) -> float:
    """Loss on a log10 scale, comparable across epochs (log10mse already is)."""
    if not math.isfinite(loss):
        return math.inf
    return loss if loss_name == "log10mse" else math.log10(max(loss, 1e-30))


@dataclass
class _Kept:
    score: float = math.inf
    epoch: int = 0
    params: list[torch.Tensor] = field(default_factory=list)
    moments: list[dict[str, torch.Tensor]] = field(default_factory=list)
    rollbacks: int = 0
    lr_scale: float = 1.0
    frozen: bool = False
    noisy: bool = False  # in quantization-aware training
    recent: list[float] = field(default_factory=list)  # scores of the last QAT epochs


class Guard:
    """Best-state keeping and divergence rollback for the K parameter groups of one optimizer."""

    def __init__(self, opt: torch.optim.Optimizer, loss_names: list[str], enabled: list[bool] | None = None) -> None:
        """``enabled[k]`` False: model k is left alone (``FitConfig.guard``: a study of the optimizer's own
        behaviour, where an oscillation is the result, not a failure)."""
        self.opt, self.loss_names = opt, loss_names
        self.enabled = enabled or [True] * len(loss_names)
        self.kept = [_Kept() for _ in loss_names]
        for k in range(len(loss_names)):  # the initial state: what a first epoch that diverges returns to
            if self.enabled[k]:
                self._save(k, math.inf, 0)

    def _params(self, k: int) -> list[torch.Tensor]:
        return list(self.opt.param_groups[k]["params"])

    def _save(self, k: int, score: float, epoch: int) -> None:
        kept = self.kept[k]
        kept.score, kept.epoch = score, epoch
        kept.params = [p.detach().clone() for p in self._params(k)]
        kept.moments = [{n: (v.clone() if torch.is_tensor(v) else v) for n, v in self.opt.state.get(p, {}).items()}
                        for p in self._params(k)]

    def _restore(self, k: int) -> None:
        kept = self.kept[k]
        with torch.no_grad():
            for p, saved, moments in zip(self._params(k), kept.params, kept.moments):
                p.copy_(saved)
                if moments:
                    self.opt.state[p] = {n: (v.clone() if torch.is_tensor(v) else v) for n, v in moments.items()}
                else:
                    self.opt.state.pop(p, None)

    def after_epoch(self, epoch: int, means: list[float], noisy: list[bool] | None = None) -> list[tuple[int, str]]:
        """Keep improved states, roll diverged models back; returns (model, event) pairs. ``noisy[k]``: model k's
        epoch ran quantization-aware (judged against its recent QAT epochs, module docstring)."""
        events = []
        for k, (mean, name) in enumerate(zip(means, self.loss_names)):
            kept, score = self.kept[k], log_score(mean, name)
            if kept.frozen or not self.enabled[k]:
                continue
            if noisy is not None and noisy[k] and not kept.noisy:  # QAT starts: a new yardstick
                kept.noisy, kept.score, kept.recent = True, math.inf, []
            yardstick = statistics.median(kept.recent) + QAT_DIVERGED if kept.noisy and kept.recent \
                else kept.score + DIVERGED
            if score < kept.score:
                self._save(k, score, epoch)
            elif not math.isfinite(score) or score > yardstick:
                events.append((k, self._roll_back(k, epoch, mean)))
                continue
            if kept.noisy:
                kept.recent = [*kept.recent[-RECENT + 1:], score]
        return events

    def _roll_back(self, k: int, epoch: int, mean: float) -> str:
        kept = self.kept[k]
        self._restore(k)
        kept.rollbacks += 1
        if kept.rollbacks > MAX_ROLLBACKS:
            kept.frozen = True
            return (f"epoch {epoch}: loss {mean:.4g} diverged again after {MAX_ROLLBACKS} rollbacks; stopped on the "
                    f"best state (epoch {kept.epoch})")
        kept.lr_scale *= 0.5
        return (f"epoch {epoch}: loss {mean:.4g} diverged (best {self._best(k):.4g} at epoch {kept.epoch}); rolled "
                f"back to epoch {kept.epoch} and halved the learning rate (x{kept.lr_scale:g})")

    def _best(self, k: int) -> float:
        score = self.kept[k].score
        return score if self.loss_names[k] == "log10mse" else 10 ** score

    def lr_scale(self, k: int) -> float:
        """Multiplier of model k's scheduled rate (0 once it has stopped)."""
        return 0.0 if self.kept[k].frozen else self.kept[k].lr_scale

    def finish(self, last_means: list[float]) -> list[tuple[int, str]]:
        """Restore the best state of models whose last epoch is worse than their best."""
        events = []
        for k, (mean, name) in enumerate(zip(last_means, self.loss_names)):
            kept = self.kept[k]
            if self.enabled[k] and math.isfinite(kept.score) and log_score(mean, name) > kept.score + SLACK:
                self._restore(k)
                events.append((k, f"end: restored the best state (epoch {kept.epoch}, loss {self._best(k):.4g}; "
                                  f"the last epoch's was {mean:.4g})"))
        return events
