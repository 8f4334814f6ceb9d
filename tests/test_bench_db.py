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
