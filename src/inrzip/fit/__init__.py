"""Training: one trainer for every signal kind and any number of models (``trainer``), its losses,
schedules, optimizers and defaults, the fast kernels (``engine/``) and process settings (``runtime``)."""

from .defaults import FIT_DEFAULTS, finetune_config, resolve_fit
from .losses import LOSSES
from .trainer import SHARED_SETTINGS, FitResult, fit, fit_many

__all__ = ["FIT_DEFAULTS", "resolve_fit", "finetune_config", "LOSSES", "SHARED_SETTINGS", "FitResult", "fit", "fit_many"]
