"""Rate-distortion benchmarking on top of the public API: sweeps, classical codecs, results database,
Pareto frontiers, BD-rate, plots. Nothing here reaches inside the codec; ``execute.fit_encodings`` and
``execute.run_unit`` are the calls into ``inrzip.api``.
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["register_cli"]


def register_cli(command: Callable, extra_parsers: list[Callable[[Any], None]]) -> None:
    """Add ``bench``, ``bench-codecs``, ``plot`` and ``table`` to the inrzip CLI (called by ``cli.py``)."""
    def add(sub: Any) -> None:
        from . import plot, runner

        runner.add_parsers(sub, command)
        plot.add_parsers(sub, command)

    extra_parsers.append(add)
