"""The results store: atomic tasks, resumable keys, WAL, reopen."""

from __future__ import annotations

import sqlite3

import pytest

from inrzip.bench.db import Result, ResultsDB
from inrzip.errors import InputError


def _result(key: str, bits: int, psnr: float = 30.0) -> Result:
    return Result(key, bits, "kodim01", "doh", '{"arch":"20x4"}', psnr, 0.9, 1000 + bits, 900.0 + bits,
                  0.02 * bits, 12.5, "cpu", '{"torch":"x"}')


def test_a_task_is_stored_whole_once_and_survives_reopen(tmp_path):
    path = tmp_path / "r.sqlite"
    with ResultsDB(path) as db:
        assert db.add_task("k1", "kodim01", "doh", "{}", [_result("k1", b) for b in (4, 8, 16)])
        assert not db.add_task("k1", "kodim01", "doh", "{}", [_result("k1", 4, psnr=99.0)])  # a rerun: ignored
        assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with ResultsDB(path) as db:
        assert db.done_keys() == {"k1"}
        rows = db.rows()
    assert [(r["bits"], r["psnr"]) for r in sorted(rows, key=lambda r: r["bits"])] == [(4, 30.0), (8, 30.0), (16, 30.0)]
    assert rows[0]["created"] and rows[0]["file_bytes"] in (1004, 1008, 1016)


def test_a_failing_insert_leaves_no_trace_of_the_task(tmp_path):
    with ResultsDB(tmp_path / "r.sqlite") as db:
        bad = [_result("k2", 4), _result("k2", 4)]  # duplicate (key, bits): the second insert fails
        with pytest.raises(sqlite3.IntegrityError):
            db.add_task("k2", "kodim01", "doh", "{}", bad)
        assert db.done_keys() == set() and db.rows() == []
        with pytest.raises(ValueError):
            db.add_task("k3", "kodim01", "doh", "{}", [_result("other", 4)])
        assert db.add_task("k2", "kodim01", "doh", "{}", [_result("k2", 4)])  # retried later: fine
        assert len(db.rows(method="doh", image="kodim01")) == 1


def test_not_a_database_is_a_user_error(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(InputError, match="not a results database"):
        ResultsDB(junk)


SCHEMA_1 = """
CREATE TABLE tasks (task_key TEXT PRIMARY KEY, image TEXT NOT NULL, method TEXT NOT NULL, config TEXT NOT NULL,
                    n_rows INTEGER NOT NULL, created TEXT NOT NULL);
CREATE TABLE results (task_key TEXT NOT NULL REFERENCES tasks(task_key), bits INTEGER NOT NULL, image TEXT NOT NULL,
    method TEXT NOT NULL, config TEXT NOT NULL, psnr REAL, ssim REAL, file_bytes INTEGER NOT NULL, est_bytes REAL,
    bpp REAL NOT NULL, fit_seconds REAL, device TEXT, versions TEXT, created TEXT NOT NULL,
    PRIMARY KEY (task_key, bits));
INSERT INTO tasks VALUES ('old', 'kodim01', 'jpeg', '{}', 1, '2026-11-25T00:00:00+00:00');
INSERT INTO results VALUES ('old', 0, 'kodim01', 'jpeg', '{}', 30.0, 0.9, 1000, NULL, 1.0, 0.1, 'cpu', '{}',
                            '2026-11-25T00:00:00+00:00');
PRAGMA user_version = 1;
"""


def test_a_schema_1_database_is_upgraded_in_place_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    con.executescript(SCHEMA_1)
    con.close()
    for _ in range(2):  # opening again is harmless
        with ResultsDB(path) as db:
            assert db.conn.execute("PRAGMA user_version").fetchone()[0] == 2
            assert db.done_keys() == {"old"} and db.rows()[0]["psnr"] == 30.0
            assert db.file("old", 0) is None and db.tasks()["old"]["command"] is None  # made before files were kept
    with ResultsDB(path) as db:
        row = Result("new", 8, "kodim01", "doh", "{}", 25.0, 0.8, 3, 2.0, 0.1, 1.0, "cpu", "{}",
                     file=b"INR", file_format="inr")
        assert db.add_task("new", "kodim01", "doh", "{}", [row], command="inrzip bench x", image_sha256="ab")
        assert db.file("new", 8) == ("inr", b"INR") and db.file_keys() == {("new", 8)}
        assert db.tasks()["new"]["command"] == "inrzip bench x" and db.tasks()["new"]["image_sha256"] == "ab"
        db.add_source("ab", "", "kodim01", "/data/kodim01.png", b"PNG")
        db.add_source("ab", "", "kodim01", "/elsewhere/kodim01.png", b"other")  # kept once
        assert db.source("ab", "") == b"PNG" and db.source_paths() == {("ab", ""): "/data/kodim01.png"}


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "new.sqlite"
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 9")
    con.close()
    with pytest.raises(InputError, match="results schema 9"):
        ResultsDB(path)
