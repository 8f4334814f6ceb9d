"""Named bundles of settings (``--preset``): the papers' recipes, per signal kind, under what the user sets.

A value may depend on the parameterization (``{"mlp": ..., "doh": ...}``). Applied by ``api.resolve`` before
any other default, so ``--preset paper --epochs 300`` keeps the 300.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from .config import CompressConfig, FitConfig
from .errors import InrzipError

__all__ = ["PRESETS", "apply_preset"]

# Per signal kind: the supplement's Table 1 settings; a value may depend on the parameterization.
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "paper": {
        "image": {"epochs": 2000, "batch_size": 1024, "lr": {"mlp": 2e-4, "doh": 1e-6}, "loss": "mse", "gamma": 0.999,
                  "betas": (0.99, 0.999), "doh_init": "doh", "warmup_epochs": 0, "optimizer": {"doh": "adam"},
                  "residual": False},  # the papers store the weights
        "occupancy": {"epochs": 250, "batch_size": 20000, "lr": {"mlp": 1e-4, "doh": 1e-6}, "loss": "mse",
                      "gamma": 0.999, "betas": (0.99, 0.999), "doh_init": "doh", "warmup_epochs": 0},
    },
}
_FIT_FIELDS = {f.name for f in fields(FitConfig)}


def apply_preset(cfg: CompressConfig, kind: str, parameterization: str) -> CompressConfig:
    """The preset's settings for this kind, under whatever the user set explicitly."""
    try:
        preset = PRESETS[cfg.preset][kind]
    except KeyError:
        raise InrzipError(f"no preset {cfg.preset!r} for {kind} signals; known: {sorted(PRESETS)}") from None
    top, sub = {}, {}
    for key, value in preset.items():
        value = value.get(parameterization) if isinstance(value, dict) else value
        target, current = (sub, getattr(cfg.fit, key)) if key in _FIT_FIELDS else (top, getattr(cfg, key))
        if current is None:
            target[key] = value
    return replace(cfg, **top, fit=replace(cfg.fit, **sub))
