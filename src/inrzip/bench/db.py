"""The results database: one SQLite file (stdlib ``sqlite3``, WAL journal) per benchmark.

``tasks`` has one row per finished task (its content-hash key, the command that ran it); ``results`` one
row per (task key, bits) — a fit yields one row per bit depth, a classical codec task one row with bits 0;
``files`` the encoded file of each result row (the ``.inr`` or the codec's bytes), so ``inrzip report``
shows pictures decoded from the real files; ``sources`` the picture each task encoded (after the sweep's
crop) as a lossless PNG, the "original" of the report. A task's rows, files and ``tasks`` row are written
in ONE transaction, so after Ctrl-C or kill -9 a task is either wholly present or absent, and
``done_keys()`` tells a rerun exactly what to skip. Only the coordinator process writes; workers (local
processes or Ray tasks) return rows, files included, to it.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from ..errors import InputError

__all__ = ["Result", "ResultsDB", "SCHEMA_VERSION", "config_of"]

SCHEMA_VERSION = 2  # 2 added files, sources, tasks.command and tasks.image_sha256

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    task_key TEXT PRIMARY KEY,
    image    TEXT NOT NULL,
    method   TEXT NOT NULL,
    config   TEXT NOT NULL,
    n_rows   INTEGER NOT NULL,
    created  TEXT NOT NULL,
    command  TEXT,                  -- the command line that ran it (NULL: run from Python)
    image_sha256 TEXT               -- the source image's content (NULL in databases of schema 1)
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
CREATE TABLE IF NOT EXISTS files (
    task_key TEXT NOT NULL,
    bits     INTEGER NOT NULL,
    format   TEXT NOT NULL,         -- "inr", or the codec that decodes it ("jpeg", "webp", ...)
    data     BLOB NOT NULL,         -- the encoded file, byte for byte
    PRIMARY KEY (task_key, bits)
);
CREATE TABLE IF NOT EXISTS sources (
    image_sha256 TEXT NOT NULL,
    crop     TEXT NOT NULL,         -- canonical JSON [top, left, h, w], or "" for the whole image
    image    TEXT NOT NULL,
    path     TEXT NOT NULL,         -- where it was read (for the commands the report shows; not a key)
    png      BLOB NOT NULL,         -- the picture the task encoded, 8-bit RGB, lossless
    PRIMARY KEY (image_sha256, crop)
);
"""

_NEW_TASK_COLUMNS = ("command", "image_sha256")  # added to schema-1 files when they are opened


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
    file: bytes | None = field(default=None, repr=False, compare=False)  # the encoded file (table files)
    file_format: str = ""  # "inr" or the codec's name: which decoder reads ``file``


_FILE_FIELDS = ("file", "file_format")
_STORED = [f.name for f in fields(Result) if f.name not in _FILE_FIELDS]
_COLUMNS = _STORED + ["created"]


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
        if version > SCHEMA_VERSION:
            raise InputError(f"{self.path}: results schema {version}, this inrzip knows {SCHEMA_VERSION}; use a new file")
        self._create(version)

    def _create(self, version: int) -> None:
        """Create the tables, or bring a schema-1 file up to date; every step can be repeated safely."""
        self.conn.executescript(_SCHEMA)  # CREATE ... IF NOT EXISTS: new tables only
        have = {row[1] for row in self.conn.execute("PRAGMA table_info(tasks)")}
        for column in _NEW_TASK_COLUMNS:
            if column not in have:
                self.conn.execute(f"ALTER TABLE tasks ADD COLUMN {column} TEXT")
        if version != SCHEMA_VERSION:
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

    def add_task(self, key: str, image: str, method: str, config: str, results: Iterable[Result],
                 command: str | None = None, image_sha256: str | None = None) -> bool:
        """Store a finished task, all its rows and their files atomically; False (and no change) if already stored."""
        results = list(results)
        if any(r.task_key != key for r in results):
            raise ValueError("every result of a task must carry that task's key")
        created = _now()
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            cur.execute("INSERT OR IGNORE INTO tasks (task_key, image, method, config, n_rows, created, command, "
                        "image_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (key, image, method, config, len(results), created, command, image_sha256))
            if cur.rowcount == 0:
                cur.execute("ROLLBACK")
                return False
            cur.executemany(f"INSERT INTO results ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                            [tuple(getattr(r, c) for c in _STORED) + (created,) for r in results])
            cur.executemany("INSERT INTO files VALUES (?, ?, ?, ?)",
                            [(key, r.bits, r.file_format, r.file) for r in results if r.file is not None])
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

    def tasks(self) -> dict[str, dict[str, Any]]:
        """``task key -> {image, method, config, command, image_sha256, created}`` of every stored task."""
        cur = self.conn.execute("SELECT task_key, image, method, config, command, image_sha256, created FROM tasks")
        names = [d[0] for d in cur.description]
        return {row[0]: dict(zip(names[1:], row[1:])) for row in cur}

    def file(self, key: str, bits: int) -> tuple[str, bytes] | None:
        """``(format, bytes)`` of a result row's encoded file, None if it was not kept."""
        row = self.conn.execute("SELECT format, data FROM files WHERE task_key = ? AND bits = ?", (key, bits)).fetchone()
        return None if row is None else (row[0], bytes(row[1]))

    def file_keys(self) -> set[tuple[str, int]]:
        """``(task key, bits)`` of every result row whose file is stored."""
        return set(self.conn.execute("SELECT task_key, bits FROM files"))

    def add_source(self, image_sha256: str, crop: str, image: str, path: str, png: bytes) -> None:
        """Store the picture tasks of this image and crop encode (kept if already there)."""
        self.conn.execute("INSERT OR IGNORE INTO sources VALUES (?, ?, ?, ?, ?)", (image_sha256, crop, image, path, png))

    def source_keys(self) -> set[tuple[str, str]]:
        return set(self.conn.execute("SELECT image_sha256, crop FROM sources"))

    def source_paths(self) -> dict[tuple[str, str], str]:
        """``(image sha256, crop) -> path`` the source was read from."""
        return {(h, c): p for h, c, p in self.conn.execute("SELECT image_sha256, crop, path FROM sources")}

    def source(self, image_sha256: str, crop: str) -> bytes | None:
        """The stored PNG of an image (and crop), None if absent."""
        row = self.conn.execute("SELECT png FROM sources WHERE image_sha256 = ? AND crop = ?",
                                (image_sha256, crop)).fetchone()
        return None if row is None else bytes(row[0])


def config_of(row: dict[str, Any]) -> dict[str, Any]:
    """The decoded config JSON of a result row."""
    return json.loads(row["config"])
