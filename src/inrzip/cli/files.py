"""Inputs, outputs and limits on the command line, the way the Unix tools beside inrzip handle them.

- ``-`` as an input reads standard input; ``-o -`` writes the output to standard output (messages then go
  to standard error, so a pipe carries only the data);
- an existing output is not overwritten without ``--force`` (gzip's rule), and the check runs before any
  work, so a long fit never ends in a refusal;
- an output appears under its name only when complete: it is written to a temporary file beside it and
  renamed (a crash, a failure or ``kill -9`` leaves nothing, or the old file, under the name);
- every limit of ``inrzip.limits.Limits`` is a flag ``--max-x``, generated from the table;
- ``--json`` prints strict JSON (``inrzip.jsontext``): an undefined metric is ``null``, never ``NaN``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable, Iterator, TextIO

from ..api import inr_bytes
from ..errors import FormatError, InrzipError
from ..limits import DEFAULT_LIMITS, Limits

__all__ = ["STDIO", "add_limit_flags", "limits_from_args", "read_input", "check_output", "write_output", "message_stream"]

STDIO = "-"


def add_limit_flags(parser: argparse.ArgumentParser, names: tuple[str, ...] | None = None) -> None:
    """``--max-x`` for each limit in ``names`` (default: all), with the table's help and default."""
    group = parser.add_argument_group("limits (against hostile files and absurd requests)")
    for f in fields(Limits):
        if names is None or f.name in names:
            group.add_argument(Limits.flag(f.name), dest=f.name, type=int, default=None, metavar="N",
                               help=f"{f.metadata['help']} (default {getattr(DEFAULT_LIMITS, f.name)})")


def limits_from_args(a: argparse.Namespace) -> Limits:
    """The limits the flags ask for; the defaults elsewhere."""
    given = {f.name: getattr(a, f.name) for f in fields(Limits) if getattr(a, f.name, None) is not None}
    bad = [Limits.flag(k) for k, v in given.items() if v < 0]
    if bad:
        raise InrzipError(f"{', '.join(bad)} must not be negative")
    return Limits(**given)


def read_input(path: str, limits: Limits) -> bytes:
    """An ``.inr`` file's bytes, or standard input's for ``-``; larger than ``limits.max_file_bytes`` is
    refused before it is read."""
    if path != STDIO:
        return inr_bytes(path, limits)
    cap = limits.max_file_bytes
    data = sys.stdin.buffer.read(cap + 1)
    if len(data) > cap:
        raise FormatError(f"standard input holds over {cap} bytes, the limit for an .inr file "
                          f"({limits.hint('max_file_bytes')})")
    return data


def check_output(path: str, force: bool, source: str | None = None) -> None:
    """Refuse, before any work, to replace an existing output without ``--force``, and to replace the command's
    own input even with it (``compress photo.png -o photo.png -f`` would leave no photograph)."""
    if path == STDIO:
        return
    p = Path(path)
    if source is not None and source != STDIO and _same_file(p, Path(source)):
        raise InrzipError(f"{path} is the input itself; write the output under another name")
    if (p.exists() or p.is_symlink()) and not force:
        raise InrzipError(f"{path} already exists; use --force to overwrite it")
    if not p.parent.is_dir():
        raise InrzipError(f"{path}: its folder {p.parent} does not exist")


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (links and ``..`` included)."""
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def message_stream(output: str) -> TextIO:
    """Where a command's messages go: standard error when its data goes to standard output."""
    return sys.stderr if output == STDIO else sys.stdout


@contextmanager
def _temporary(folder: Path, suffix: str) -> Iterator[Path]:
    """A fresh temporary path in ``folder`` (same file system, so the final rename is atomic), removed after."""
    fd, name = tempfile.mkstemp(dir=folder, prefix=".inrzip-", suffix=suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_output(path: str, suffix: str, write: Callable[[Path], Any], force: bool) -> None:
    """Run ``write(tmp)`` on a temporary file named with ``suffix`` (which picks the format), then move it to
    ``path`` or copy it to standard output for ``-``; ``path`` never holds a partial file. An empty
    ``suffix`` is a folder output (NeRF views as PNGs): written in place, never removed."""
    check_output(path, force)
    if path == STDIO:
        if not suffix:
            raise InrzipError("this output is a folder of files; give -o FOLDER, or --format for one file")
        with tempfile.TemporaryDirectory(prefix="inrzip-") as folder:
            tmp = Path(folder) / f"out{suffix}"
            write(tmp)
            with open(tmp, "rb") as fh:
                shutil.copyfileobj(fh, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        return
    target = Path(path)
    if not suffix:
        write(target)
        return
    if target.is_dir():
        raise InrzipError(f"{path} is a folder; give a file name")
    with _temporary(target.parent, suffix) as tmp:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # a temporary file is private; the output gets the usual mode
        os.replace(tmp, target)
