"""The registry of experiments behind ``python -m inrzip.experiments NAME [--quick] [--out DIR]``.

An experiment is a function ``run(quick, out, argv)``: ``quick`` runs the same code at a tiny size in
seconds (the tests use it), otherwise the protocol stated in docs/experiments.md; ``out`` is its folder
(default ``results/<name>``); ``argv`` are its own options (``--mesh``, ``--images``...). Each writes
``<name>.csv``, ``<name>.json`` (its configuration) and ``<name>.png`` under ``out``. A module registers
its experiments with ``@experiment(NAME, HELP)``; ``MODULES`` lists the modules to import.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from ..registry import Registry

__all__ = ["Experiment", "EXPERIMENTS", "experiment", "load_all", "run_experiment", "machine", "MODULES",
           "ArgParser", "default_out"]

Runner = Callable[[bool, Path, Sequence[str]], Any]


@dataclass(frozen=True)
class Experiment:
    """A named, documented figure or table of a supplement."""

    name: str
    help: str
    run: Runner


EXPERIMENTS: Registry[Experiment] = Registry("experiment")
# Modules whose import registers experiments (one line per module).
MODULES = ("doh_images", "doh_init", "pe_ablation", "occupancy_table", "occupancy_rd", "figures", "quant_study",
           "nerf_quant", "meta_init")


def experiment(name: str, help: str) -> Callable[[Runner], Runner]:
    """Decorator: register ``run(quick, out, argv)`` as experiment ``name``."""
    def deco(fn: Runner) -> Runner:
        EXPERIMENTS[name] = Experiment(name, help, fn)
        return fn
    return deco


def load_all() -> Registry[Experiment]:
    for module in MODULES:
        importlib.import_module(f"{__package__}.{module}")
    return EXPERIMENTS


def default_out(name: str) -> Path:
    return Path("results") / name


def machine() -> dict[str, Any]:
    """Where and when a run happened, saved in every configuration JSON."""
    return {"date": time.strftime("%Y-%m-%d %H:%M"), "host_cpu": platform.processor() or platform.machine(),
            "python": platform.python_version(), "torch": torch.__version__, "threads": torch.get_num_threads()}


class ArgParser(argparse.ArgumentParser):
    """An experiment's own options; errors are one line (the CLI convention), not a usage dump."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        from ..errors import InputError

        raise InputError(f"{self.prog}: {message}")


def run_experiment(name: str, quick: bool = False, out: Path | None = None, argv: Sequence[str] = ()) -> Path:
    """Run one experiment; returns its output folder (its settings and timing land in ``run.json``)."""
    exp = load_all().get(name)
    out = Path(out) if out is not None else default_out(name)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    exp.run(quick, out, list(argv))
    record = {"experiment": name, "quick": quick, "argv": list(argv), "seconds": round(time.perf_counter() - t0, 1),
              **machine()}
    (out / "run.json").write_text(json.dumps(record, indent=1) + "\n")
    return out
