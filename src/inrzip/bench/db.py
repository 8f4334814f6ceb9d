"""The results database: one SQLite file (stdlib ``sqlite3``, WAL journal) per benchmark.

Two tables. ``tasks`` has one row per finished task (its content-hash key); ``results`` one row per
(task key, bits) — a fit yields one row per bit depth, a classical codec task one row with bits 0.
A task's rows and its ``tasks`` row are written in ONE transaction, so after Ctrl-C or kill -9 a task
is either wholly present or absent, and ``done_keys()`` tells a rerun exactly what to skip.
Only the coordinator process writes; workers return rows to it.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from ..errors import InputError

__all__ = ["Result", "ResultsDB", "SCHEMA_VERSION", "config_of"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    task_key TEXT PRIMARY KEY,
    image    TEXT NOT NULL,
    method   TEXT NOT NULL,
    config   TEXT NOT NULL,
    n_rows   INTEGER NOT NULL,
    created  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    task_key    TEXT NOT NULL REFERENCES tasks(task_key),
    bits        INTEGER NOT NULL,   -- weight bit depth; 0 for classical codecs
    image       TEXT NOT NULL,
    method      TEXT NOT NULL,
    config      TEXT NOT NULL,      -- canonical JSON of everything that defines the task
    psnr        REAL,
    ssim        REAL,
    file_bytes  INTEGER NOT NULL,   -- the real encoded file
    est_bytes   REAL,               -- params x bits / 8, the papers' overhead-free estimate (NULL for codecs)
    bpp         REAL NOT NULL,      -- from file_bytes
    fit_seconds REAL,
    device      TEXT,
    versions    TEXT,               -- JSON {library: version}
    created     TEXT NOT NULL,
    PRIMARY KEY (task_key, bits)
);
CREATE INDEX IF NOT EXISTS results_method ON results(method, image);
"""


@dataclass(frozen=True)
class Result:
    """One measured rate-distortion point, as stored."""

    task_key: str
    bits: int
    image: str
    method: str
    config: str
    psnr: float | None
    ssim: float | None
    file_bytes: int
    est_bytes: float | None
    bpp: float
    fit_seconds: float | None
    device: str
    versions: str


_COLUMNS = [f.name for f in fields(Result)] + ["created"]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class ResultsDB:
    """A results file. Open it in the coordinator only; readers (plots, tables) may open it concurrently."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{self.path}: not a results database ({exc}); give a new file name") from None
        if version not in (0, SCHEMA_VERSION):
            raise InputError(f"{self.path}: results schema {version}, this inrzip knows {SCHEMA_VERSION}; use a new file")
        self.conn.executescript(_SCHEMA)
        self.conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def __enter__(self) -> "ResultsDB":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    def done_keys(self) -> set[str]:
        """Keys of every task whose results are fully stored."""
        return {k for (k,) in self.conn.execute("SELECT task_key FROM tasks")}

    def add_task(self, key: str, image: str, method: str, config: str, results: Iterable[Result]) -> bool:
        """Store a finished task and all its rows atomically; False (and no change) if already stored."""
        results = list(results)
        if any(r.task_key != key for r in results):
            raise ValueError("every result of a task must carry that task's key")
        created = _now()
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            cur.execute("INSERT OR IGNORE INTO tasks VALUES (?, ?, ?, ?, ?, ?)",
                        (key, image, method, config, len(results), created))
            if cur.rowcount == 0:
                cur.execute("ROLLBACK")
                return False
            cur.executemany(f"INSERT INTO results ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                            [tuple(asdict(r).values()) + (created,) for r in results])
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        return True

    def rows(self, method: str | None = None, image: str | None = None) -> list[dict[str, Any]]:
        """Result rows as dicts (``config`` and ``versions`` left as JSON text), optionally filtered."""
        sql, args = "SELECT * FROM results WHERE 1=1", []
        if method is not None:
            sql, args = sql + " AND method = ?", args + [method]
        if image is not None:
            sql, args = sql + " AND image = ?", args + [image]
        cur = self.conn.execute(sql + " ORDER BY method, image, bpp", args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur]

    def methods(self) -> list[str]:
        return [m for (m,) in self.conn.execute("SELECT DISTINCT method FROM results ORDER BY method")]


def config_of(row: dict[str, Any]) -> dict[str, Any]:
    """The decoded config JSON of a result row."""
    return json.loads(row["config"])
