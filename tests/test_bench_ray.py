"""The Ray executor: the tiny sweep through ``--executor ray`` gives the local executor's database; a worker
killed mid-sweep is retried and nothing is stored twice; a local Ray instance listens on loopback only and
stops with the run."""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import TINY_ROWS, TINY_TASKS, require_tool

import inrzip
from inrzip.bench.ray_backend import gpus_per_task
from inrzip.bench.runner import run_tasks
from inrzip.bench.sweep import load_sweep, sweep_tasks
from inrzip.errors import InputError

HAS_RAY = importlib.util.find_spec("ray") is not None
NO_RAY = "Ray is not installed (pip install -e '.[all]' installs it)"
LINUX = sys.platform.startswith("linux")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


# ---- reading processes and sockets from /proc (Linux) ---------------------------------------------

def _stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()  # fields after the command name: state, ppid, pgrp, session


def _pids() -> list[int]:
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid in _pids():
        try:
            children.setdefault(int(_stat(pid)[1]), []).append(pid)
        except (OSError, IndexError, ValueError):
            pass
    out, todo = [], [root]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _title(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")[0].decode(errors="replace")
    except OSError:
        return ""


def _session_alive(sid: int) -> list[int]:
    alive = []
    for pid in _pids():
        try:
            st = _stat(pid)
            if int(st[4]) == sid and st[0] != "Z":
                alive.append(pid)
        except (OSError, IndexError, ValueError):
            pass
    return alive


def _session_gone(sid: int, timeout: float = 90.0) -> bool:
    end = time.monotonic() + timeout
    while _session_alive(sid):
        if time.monotonic() > end:
            return False
        time.sleep(0.2)
    return True


def _listening(pids: set[int]) -> list[IPAddress]:
    """Addresses of the TCP sockets the given processes listen on."""
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        except OSError:
            pass
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                    raw = bytes.fromhex(cols[1].split(":")[0])
                    out.append(ipaddress.ip_address(b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))))
    return out


def _is_loopback(ip: IPAddress) -> bool:
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


# ---- comparing databases --------------------------------------------------------------------------

def _read(db: Path) -> tuple[dict, dict, int, int]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    rows = {(r["task_key"], r["bits"]): dict(r) for r in con.execute("SELECT * FROM results")}
    files = {(k, b): bytes(d) for k, b, d in con.execute("SELECT task_key, bits, data FROM files")}
    n_results = con.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    n_tasks = con.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]
    con.close()
    return rows, files, n_results, n_tasks


def _assert_same_results(local: Path, other: Path) -> None:
    """Same rows (keys, methods, configs, file sizes) and the same numbers within float noise."""
    ra, fa, _, _ = _read(local)
    rb, fb, n_results, n_tasks = _read(other)
    assert rb.keys() == ra.keys() and len(ra) == TINY_ROWS
    assert n_results == TINY_ROWS and n_tasks == TINY_TASKS  # nothing stored twice
    for key, a in ra.items():
        b = rb[key]
        assert (b["image"], b["method"], b["config"], b["file_bytes"], b["device"]) == \
            (a["image"], a["method"], a["config"], a["file_bytes"], a["device"])
        for m in ("psnr", "ssim", "bpp", "est_bytes"):  # est_bytes is NULL for codecs
            assert (a[m] is None and b[m] is None) or b[m] == pytest.approx(a[m], rel=1e-6, abs=1e-9), (a["method"], m)
    assert fb.keys() == fa.keys() == ra.keys()
    assert all(len(fb[k]) == ra[k]["file_bytes"] for k in fb)  # the stored file is the one measured


# ---- the tests --------------------------------------------------------------------------------------

@pytest.mark.skipif(not LINUX, reason="reads /proc")
def test_cli_ray_executor_gives_the_local_executors_rows_and_stops_ray(tiny_bench, tmp_path, capsys):
    require_tool(HAS_RAY, NO_RAY)
    db = tmp_path / "ray.sqlite"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(inrzip.__file__).parents[1]),
                                                        os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "inrzip.cli", "bench", str(tiny_bench["kodak"]), "--config", str(tiny_bench["sweep"]),
           "--db", str(db), "--executor", "ray", "--workers", "2", "--threads", "1", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, start_new_session=True, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out = proc.communicate(timeout=600)[0]
        assert proc.returncode == 0, out
        assert f"{TINY_TASKS} tasks: {TINY_TASKS} run now, 0 already done, 0 failed" in out
        assert _session_gone(proc.pid), f"Ray processes outlived the run: {_session_alive(proc.pid)}"
    finally:
        for pid in _session_alive(proc.pid):  # only the processes of the run this test started
            os.kill(pid, signal.SIGKILL)
    _assert_same_results(tiny_bench["db"], db)
    with sqlite3.connect(db) as con:
        commands = {c for (c,) in con.execute("SELECT command FROM tasks")}
    assert len(commands) == 1 and "--executor ray" in commands.pop()

    # the resume rules do not depend on the executor: the local one finds every task done
    from inrzip.cli import main

    capsys.readouterr()
    assert main(["bench", str(tiny_bench["kodak"]), "--config", str(tiny_bench["sweep"]), "--db", str(db),
                 "--workers", "0", "--quiet"]) == 0
    assert f"0 run now, {TINY_TASKS} already done, 0 failed" in capsys.readouterr().out


@pytest.fixture(scope="module")
def ray_here():
    """A local Ray instance in this process (2 CPUs, loopback), shared by the tests below, always shut down."""
    require_tool(HAS_RAY, NO_RAY)
    from inrzip.bench.ray_backend import ray_session

    with ray_session(num_cpus=2) as ray:
        yield ray


@pytest.mark.skipif(not LINUX, reason="reads /proc, kills a worker with SIGKILL")
def test_a_worker_killed_mid_sweep_is_retried_and_nothing_is_stored_twice(ray_here, tiny_bench, tmp_path):
    tasks = sweep_tasks(load_sweep(tiny_bench["sweep"]), tiny_bench["kodak"])
    db = tmp_path / "ray.sqlite"
    killed: list[tuple[int, str]] = []
    stop = threading.Event()

    def done() -> int:
        try:
            with sqlite3.connect(db, timeout=5) as con:
                return con.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]
        except sqlite3.Error:
            return 0

    def kill_one_running_worker() -> None:
        """Once a task is stored, SIGKILL the first Ray worker caught running a unit (its title says so)."""
        while not stop.is_set() and not killed:
            if done() >= 1:
                for pid in _descendants(os.getpid()):
                    title = _title(pid)
                    if title.startswith("ray::_run_unit_remote"):
                        os.kill(pid, signal.SIGKILL)
                        killed.append((pid, title))
                        break
            time.sleep(0.005)

    killer = threading.Thread(target=kill_one_running_worker, daemon=True)
    killer.start()
    try:
        summary = run_tasks(tasks, db, workers=2, threads=1, executor="ray", progress=False)
    finally:
        stop.set()
        killer.join()
    assert killed, "no worker was caught running a unit"
    assert summary.failed == [] and summary.ran == TINY_TASKS  # the killed unit was retried, not failed
    _assert_same_results(tiny_bench["db"], db)
    with sqlite3.connect(db) as con:
        per_task = con.execute("SELECT t.n_rows, COUNT(r.bits) FROM tasks t JOIN results r USING (task_key) "
                               "GROUP BY t.task_key").fetchall()
    assert len(per_task) == TINY_TASKS and all(n == m for n, m in per_task)


@pytest.mark.skipif(not LINUX, reason="reads /proc")
def test_the_local_ray_instance_listens_on_loopback_only(ray_here):
    ray_pids = set(_descendants(os.getpid())) | {os.getpid()}
    addresses = _listening(ray_pids)
    assert addresses, "found no listening socket of the Ray processes"
    assert all(_is_loopback(ip) for ip in addresses), addresses
    assert ray_here.util.get_node_ip_address() == "127.0.0.1"


def test_gpus_per_task_and_executor_errors(tmp_path, monkeypatch, capsys):
    assert gpus_per_task("cuda", 0) == 1 and gpus_per_task("cuda:1", 8) == 1
    assert gpus_per_task("cpu", 8) == 0
    assert gpus_per_task("auto", 0) == 0 and gpus_per_task("auto", 2) == 1
    with pytest.raises(InputError, match="unknown executor 'slurm'"):
        run_tasks([], tmp_path / "r.sqlite", executor="slurm")

    from inrzip.bench import ray_backend
    from inrzip.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed: a one-line user error
    with pytest.raises(InputError, match=r"pip install 'inrzip\[ray\]'"):
        ray_backend._import_ray()
    assert main(["bench", str(tmp_path), "--config", "x.toml", "--db", "r.sqlite", "--ray-address", "auto"]) == 2
    assert "inrzip: error: --ray-address needs --executor ray" in capsys.readouterr().err
