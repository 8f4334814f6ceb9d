"""Run benchmark tasks on an executor (the local process pool by default, or Ray); the coordinator
alone writes the results database.

Resumable and interrupt-safe by construction: a task's rows (and their files) are committed in one
transaction when it finishes (``db.ResultsDB.add_task``), and a rerun skips every key already in the
database. A Ctrl-C terminates the workers and leaves the database consistent; a kill -9 of the
coordinator takes its workers with it (Linux parent-death signal), and at worst loses the tasks in flight.
What each task does is in ``execute.py``; where it runs, in ``backends.py`` (``local`` here, ``ray`` in
``ray_backend.py``).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ..errors import InrzipError
from . import ray_backend  # noqa: F401  (registers the "ray" executor; imports Ray only when used)
from .backends import BACKENDS, Finish, RunOptions, finish_unit
from .db import Result, ResultsDB
from .execute import crop_key, make_units, run_unit, source_png
from .sweep import Task

__all__ = ["run_tasks", "RunSummary", "format_summary", "bench", "bench_codecs", "run_local"]


def _worker_init(parent: int, threads: int) -> None:
    """Die with the coordinator (kill -9 leaves no orphans), leave Ctrl-C to it, don't oversubscribe cores."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)
    import torch

    torch.set_num_threads(threads)


@dataclass
class RunSummary:
    """What a run did; the table of results is built from the database, not from this."""

    total: int
    skipped: int
    ran: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (task label, error)
    seconds: float = 0.0


def _label(task: Task) -> str:
    p = {k: v for k, v in task.params.items() if k not in ("kind", "method", "bits")}
    return f"{task.image} {task.method} {json.dumps(p, sort_keys=True)}"


def _unique(tasks: list[Task]) -> list[Task]:
    seen: dict[str, Task] = {}
    for t in tasks:
        seen.setdefault(t.key, t)
    return list(seen.values())


def run_tasks(tasks: list[Task], db_path: str | Path, workers: int = 1, device: str = "cpu",
              progress: bool = True, threads: int | None = None, together: int = 1, executor: str = "local",
              ray_address: str | None = None, keep_files: bool = True, command: str | None = None) -> RunSummary:
    """Run every task not yet in ``db_path`` on ``executor`` (``BACKENDS``: local, ray).

    ``workers``: local processes (0 runs inline: debugging, no pool), or Ray tasks at once on a local Ray
    instance. ``threads``: torch threads per worker (default: cores / workers; 1 is best for tiny nets or
    busy machines). ``together``: fit up to this many sweep points of one network (and image size) in one
    pass (``make_units``). ``ray_address``: a running Ray cluster (default: start a local instance).
    ``keep_files``: store each encoded file and each source picture beside its rows (``inrzip report``
    shows them). ``command``: the command line, stored with each task."""
    backend = BACKENDS.get(executor)
    options = RunOptions(workers=workers, device=device, threads=threads, ray_address=ray_address)
    tasks = _unique(tasks)
    start = time.perf_counter()
    with ResultsDB(db_path) as db:
        done = db.done_keys()
        pending = [t for t in tasks if t.key not in done]
        summary = RunSummary(total=len(tasks), skipped=len(tasks) - len(pending))
        if keep_files:
            _store_sources(db, pending)
        bar = tqdm(total=len(tasks), initial=summary.skipped, unit="task", desc="bench", disable=not progress,
                   dynamic_ncols=True, smoothing=0.1)

        def finish(task: Task, rows: list[Result] | None, error: BaseException | None) -> None:
            if error is not None:
                summary.failed.append((_label(task), f"{type(error).__name__}: {error}"))
                bar.write(f"inrzip: task failed: {_label(task)}: {error}")
            else:
                rows = rows if keep_files else [replace(r, file=None) for r in rows or []]
                db.add_task(task.key, task.image, task.method, task.config, rows or [], command=command,
                            image_sha256=task.image_sha256)
                summary.ran += 1
            bar.update(1)

        try:
            if pending:
                backend(make_units(pending, together), finish, options)
        except KeyboardInterrupt:
            bar.write("inrzip: interrupted; finished tasks are saved, rerun the same command to resume")
            raise
        finally:
            bar.close()
            summary.seconds = time.perf_counter() - start
    return summary


def _store_sources(db: ResultsDB, tasks: list[Task]) -> None:
    """Keep the picture each pending task encodes (once per image and crop): the report's original."""
    have = db.source_keys()
    for task in tasks:
        key = (task.image_sha256, crop_key(task.params))
        if key in have:
            continue
        have.add(key)
        try:
            png = source_png(task)
        except (InrzipError, OSError):
            continue  # the task itself will fail and say why
        db.add_source(key[0], key[1], task.image, task.path, png)


@BACKENDS.register("local")
def run_local(units: list[list[Task]], finish: Finish, options: RunOptions) -> None:
    """The default executor: a pool of ``workers`` local processes, or inline in this process (``workers=0``)."""
    if options.workers <= 0:
        if options.threads:
            import torch

            torch.set_num_threads(options.threads)
        for unit in units:
            _run_inline(unit, options.device, finish)
    else:
        _run_pool(units, options.workers, options.device, finish, options.threads)


def _run_inline(unit: list[Task], device: str, finish: Finish) -> None:
    try:
        rows = run_unit(unit, device)
    except Exception as exc:
        finish_unit(unit, None, exc, finish)
    else:
        finish_unit(unit, rows, None, finish)


def _run_pool(pending: list[list[Task]], workers: int, device: str, finish: Finish, threads: int | None) -> None:
    """Keep at most ``2 * workers`` units queued, so Ctrl-C cancels the rest at once."""
    threads = threads or max(1, (os.cpu_count() or 1) // workers)
    ex = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_worker_init, initargs=(os.getpid(), threads))
    queue, running = list(reversed(pending)), {}
    try:
        while queue or running:
            while queue and len(running) < 2 * workers:
                unit = queue.pop()
                running[ex.submit(run_unit, unit, device)] = unit
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in finished:
                _collect(fut, running.pop(fut), finish)
    except BrokenProcessPool:
        _terminate(ex)
        raise InrzipError("a worker process died (out of memory?); finished tasks are saved, "
                          "rerun with fewer --workers to resume") from None
    except BaseException:
        _terminate(ex)
        raise
    ex.shutdown(wait=True)


def _collect(fut: Future, unit: list[Task], finish: Finish) -> None:
    try:
        rows = fut.result()
    except BrokenProcessPool:
        raise
    except Exception as exc:
        finish_unit(unit, None, exc, finish)
    else:
        finish_unit(unit, rows, None, finish)


def _terminate(ex: ProcessPoolExecutor) -> None:
    """Stop the pool now: cancel queued work and end the worker processes this run started."""
    procs = list(getattr(ex, "_processes", {}).values())  # no public handle on the workers
    ex.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        p.terminate()
    for p in procs:
        p.join(timeout=5)


def format_summary(rows: list[dict[str, Any]], summary: RunSummary | None = None) -> str:
    """A plain-text table per method: tasks, points, mean bpp / PSNR / SSIM, seconds spent fitting or encoding."""
    by_method: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_method.setdefault(r["method"], []).append(r)
    lines = [f"{'method':<14}{'tasks':>7}{'points':>8}{'images':>8}{'bpp':>9}{'PSNR':>8}{'SSIM':>8}{'cpu s':>9}"]
    for m, g in sorted(by_method.items()):
        tasks = {r["task_key"]: r.get("fit_seconds") or 0.0 for r in g}
        mean = lambda k: float(np.mean([r[k] for r in g if r[k] is not None] or [np.nan]))  # noqa: E731
        lines.append(f"{m:<14}{len(tasks):>7}{len(g):>8}{len({r['image'] for r in g}):>8}{mean('bpp'):>9.3f}"
                     f"{mean('psnr'):>8.2f}{mean('ssim'):>8.4f}{sum(tasks.values()):>9.1f}")
    if summary is not None:
        lines.append(f"{summary.total} tasks: {summary.ran} run now, {summary.skipped} already done, "
                     f"{len(summary.failed)} failed, {summary.seconds:.1f} s")
    return "\n".join(lines)


# ---- the functions behind `inrzip bench` and `inrzip bench-codecs` ----------------------------------

def _print_report(db_path: str | Path, tasks: list[Task], summary: RunSummary) -> None:
    keys = {t.key for t in tasks}
    with ResultsDB(db_path) as db:
        rows = [r for r in db.rows() if r["task_key"] in keys]
    print(format_summary(rows, summary))
    for label, err in summary.failed[:10]:
        print(f"  failed: {label}: {err}")


def bench(folder: str | Path, sweep_file: str | Path, db_path: str | Path, workers: int = 1,
          device: str = "cpu", progress: bool = True, threads: int | None = None, together: int = 1,
          **run: Any) -> RunSummary:
    """Run a TOML sweep over the images in ``folder`` into ``db_path`` (resumable); print the summary.
    ``run``: the other options of ``run_tasks`` (executor, ray_address, keep_files, command)."""
    from .sweep import load_sweep, sweep_tasks

    tasks = sweep_tasks(load_sweep(sweep_file), folder)
    summary = run_tasks(tasks, db_path, workers=workers, device=device, progress=progress, threads=threads,
                        together=together, **run)
    _print_report(db_path, tasks, summary)
    return summary


def bench_codecs(folder: str | Path, codecs: list[str], db_path: str | Path, workers: int = 1,
                 images: str | list[str] = "*.png", limit: int | None = None, crop: list[int] | None = None,
                 progress: bool = True, **run: Any) -> RunSummary:
    """Sweep classical codecs over their default qualities on the images in ``folder`` (resumable)."""
    from .sweep import codec_tasks, list_images

    tasks = codec_tasks(list_images(folder, images, limit), {c: [] for c in codecs}, crop)
    summary = run_tasks(tasks, db_path, workers=workers, progress=progress, **run)
    _print_report(db_path, tasks, summary)
    return summary
