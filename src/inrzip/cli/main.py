"""The ``inrzip`` command: one parser, its subcommands from the modules of this package.

Every command is ``main(argv)``-testable and only calls ``inrzip.api`` and public names of the core.
Errors a user can cause print one line ``inrzip: error: ...`` and exit with status 2.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from ..errors import InrzipError
from ..interrupts import ctrl_c_stops
from ..version import __version__
from . import bench, codec, render

__all__ = ["main", "build_parser"]

SUBCOMMAND_MODULES = (codec, render, bench)  # each has add_parsers(sub); a parser's ``handler`` runs it


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors like every other inrzip error (one line, exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InrzipError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="inrzip", description="Compress signals into tiny neural files.")
    parser.add_argument("--version", action="version", version=f"inrzip {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for module in SUBCOMMAND_MODULES:
        module.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 2 user error, 130 interrupted). Run as the program (no
    ``argv``), Ctrl-C exits at once with 130."""
    program = argv is None
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        args = build_parser().parse_args(argv)
        args.command_line = shlex.join(["inrzip", *argv])  # stored with bench results ("the command that made it")
        with ctrl_c_stops():
            return args.handler(args)
    except InrzipError as exc:
        print(f"inrzip: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("inrzip: interrupted", file=sys.stderr)
        if program:
            _exit_now(130)
        return 130


def _exit_now(status: int) -> None:
    """Leave without the interpreter's teardown: the interrupted command's own cleanup (temporary files, a
    Ray instance, database rows) ran as the interrupt unwound, and what is left (a compiler's worker pool caught
    mid-compile, thread pools) can block an exit the user asked for."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
