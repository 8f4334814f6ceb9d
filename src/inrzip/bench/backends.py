"""Where the units of a sweep run: a registry of executors (``local``: a process pool; ``ray``: Ray tasks).

An executor takes the units of work (``execute.make_units``), runs ``execute.run_unit`` on each wherever it
likes, and reports every task through ``finish(task, rows, error)`` in the coordinator. Only the
coordinator writes the results database (``runner.run_tasks`` owns ``finish``), so no executor can lose a
finished task or store one twice, and the resume rules are the same whichever executor ran a task.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..errors import InputError
from ..registry import Registry
from .db import Result
from .sweep import Task

__all__ = ["RunOptions", "Finish", "Backend", "BACKENDS", "finish_unit"]


@dataclass(frozen=True)
class RunOptions:
    """How and where units run; none of it is part of a task's key (a task is the same task anywhere)."""

    workers: int = 1  # local: processes (0: inline); ray: tasks at once on a local instance
    device: str = "cpu"  # cpu, cuda or auto
    threads: int | None = None  # torch threads per worker or Ray task
    ray_address: str | None = None  # None: start a local Ray instance (loopback only)


Finish = Callable[[Task, "list[Result] | None", "BaseException | None"], None]
Backend = Callable[[list[list[Task]], Finish, RunOptions], None]

BACKENDS: Registry[Backend] = Registry("executor", InputError)


def finish_unit(unit: list[Task], rows: list[list[Result]] | None, error: BaseException | None,
                finish: Finish) -> None:
    """Report a unit task by task; a failing unit fails all its tasks (retried on the next run)."""
    for task, r in zip(unit, rows if rows is not None else [None] * len(unit)):
        finish(task, r, error)
