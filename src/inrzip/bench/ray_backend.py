"""The ``ray`` executor (``inrzip bench --executor ray``): each unit of a sweep is one Ray task.

Rows (with their files) come back to the coordinator, which alone writes the results database, exactly as
with the local pool: a task is stored whole or not at all, and a rerun skips what is stored.

- **Where.** Without an address a local Ray instance is started for the run and shut down after it, also on
  errors and Ctrl-C. It listens on 127.0.0.1 only (``ray_session``) and has no dashboard. With
  ``--ray-address`` the run joins a running cluster; its workers need inrzip installed (each row records
  the inrzip version that computed it). A process that already called ``ray.init`` is used as it is.
- **Resources.** A task reserves ``threads`` CPUs (torch threads) and, when the sweep runs on CUDA, one GPU
  (``num_gpus``), so Ray never puts two fits on one GPU or oversubscribes cores.
- **Failures.** A worker that dies mid-task (killed, out of memory, node lost) is retried by Ray up to
  ``MAX_RETRIES`` times; the retry's rows are the only ones stored. An exception inside a task is not
  retried (it would fail again): its unit is reported failed and the next run retries it, as with the pool.

Ray is an optional extra (``pip install 'inrzip[ray]'``); it is imported only when this executor runs.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager, nullcontext
from typing import Any, Iterator

from ..errors import InputError, InrzipError
from .backends import BACKENDS, Finish, RunOptions, finish_unit
from .db import Result
from .execute import run_unit
from .sweep import Task

__all__ = ["run_ray", "ray_session", "MAX_RETRIES", "LOOPBACK", "gpus_per_task"]

MAX_RETRIES = 3  # retries of a task whose worker died (Ray's own default, made explicit)
LOOPBACK = "127.0.0.1"
_OBJECT_STORE_BYTES = 256 * 1024 * 1024  # a local instance only moves tasks and rows: keep /dev/shm free
# Ray gives a new instance the machine's routable address unless it is told clusters are off; a local
# instance for one run must be reachable from this machine only. Usage reports stay off too.
_LOCAL_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise InputError("--executor ray needs Ray; install it with pip install 'inrzip[ray]'") from None
    return ray


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the length of the block (Ray reads them at import and start)."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None,
                num_gpus: int | None = None) -> Iterator[Any]:
    """Ray, connected for the length of the block: this process's Ray if it already runs one; else the
    cluster at ``address``; else a new local instance on loopback with ``num_cpus`` CPUs. What this
    function started it shuts down on the way out, whatever happens inside."""
    if "ray" in sys.modules and sys.modules["ray"].is_initialized():
        yield sys.modules["ray"]
        return
    import logging

    with _environment(_LOCAL_ENV) if address is None else nullcontext():
        ray = _import_ray()
        try:
            if address is None:
                ray.init(address="local", num_cpus=num_cpus, num_gpus=num_gpus, include_dashboard=False,
                         _node_ip_address=LOOPBACK, object_store_memory=_OBJECT_STORE_BYTES,
                         log_to_driver=False, logging_level=logging.WARNING)
            else:
                ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            ray.shutdown()
            where = f"the Ray cluster at {address}" if address else "a local Ray instance"
            raise InrzipError(f"cannot start or reach {where}: {exc}") from None
        try:
            if address is None and ray.util.get_node_ip_address() != LOOPBACK:
                raise InrzipError("the local Ray instance did not bind to 127.0.0.1 (Ray was imported before "
                                  "inrzip started it); run the bench in a fresh process")
            yield ray
        finally:
            ray.shutdown()


def gpus_per_task(device: str, cluster_gpus: float) -> int:
    """GPUs a task reserves: one when the sweep runs on CUDA ("auto": when the cluster has a GPU), else none."""
    if device.startswith("cuda"):
        return 1
    return 1 if device == "auto" and cluster_gpus >= 1 else 0


def _run_unit_remote(unit: list[Task], device: str, threads: int) -> list[list[Result]]:
    """What a Ray worker runs: one unit, on the torch threads its task reserved."""
    import torch

    torch.set_num_threads(threads)
    return run_unit(unit, device)


def _error(ray: Any, exc: BaseException) -> BaseException:
    """The exception a task raised (RayTaskError wraps it), or Ray's own (a worker died too often)."""
    if isinstance(exc, ray.exceptions.RayTaskError):
        return getattr(exc, "cause", None) or exc
    return exc


@BACKENDS.register("ray")
def run_ray(units: list[list[Task]], finish: Finish, options: RunOptions) -> None:
    """Submit every unit as a Ray task and store each unit's rows (through ``finish``) as it completes."""
    local = options.ray_address is None
    workers = max(1, options.workers)
    threads = options.threads or (max(1, (os.cpu_count() or 1) // workers) if local else 1)
    with ray_session(options.ray_address, num_cpus=workers * threads if local else None) as ray:
        gpus = gpus_per_task(options.device, ray.cluster_resources().get("GPU", 0))
        if gpus and ray.cluster_resources().get("GPU", 0) < gpus:
            raise InputError(f"--device {options.device}: the Ray cluster has no GPU; use --device cpu or a "
                             "cluster with GPUs (--ray-address)")
        task = ray.remote(_run_unit_remote).options(num_cpus=threads, num_gpus=gpus, max_retries=MAX_RETRIES,
                                                    retry_exceptions=False)
        running = {task.remote(unit, options.device, threads): unit for unit in units}
        try:
            while running:
                ready, _ = ray.wait(list(running), num_returns=1)
                for ref in ready:
                    unit = running.pop(ref)
                    try:
                        rows = ray.get(ref)
                    except ray.exceptions.RayError as exc:
                        finish_unit(unit, None, _error(ray, exc), finish)
                    else:
                        finish_unit(unit, rows, None, finish)
        except BaseException:
            for ref in running:
                ray.cancel(ref, force=True)
            raise
