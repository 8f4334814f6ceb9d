"""Command-line flags generated from the config dataclasses, so a setting and its flag cannot drift apart.

Each field of ``CompressConfig`` / ``FitConfig`` with ``cli=True`` becomes ``--field-name`` (or the field's
``flag``), typed from its annotation, with the field's ``help``; its default is ``None`` ("not set"), so
``inrzip.api.resolve`` applies the same defaults to the command line as to Python.
"""

from __future__ import annotations

import argparse
import functools
import typing
from dataclasses import Field
from typing import Any

from ..config import CompressConfig, FitConfig, option_fields

__all__ = ["add_config_flags", "config_from_args", "flag_name"]


def flag_name(f: Field) -> str:
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


@functools.lru_cache(maxsize=None)
def _hints(owner: type) -> dict[str, Any]:
    """A config class's resolved type hints, once (resolving them per field was most of the CLI's start-up)."""
    return typing.get_type_hints(owner)


def _kwargs(f: Field, owner: type) -> dict[str, Any]:
    """argparse keywords for one field, from its type hint (``int | None`` -> ``type=int``...)."""
    hint = _hints(owner)[f.name]
    args = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    base = args[0]
    kw: dict[str, Any] = {"dest": f.name, "default": None, "help": f.metadata.get("help", "")}
    if f.metadata.get("choices"):
        kw["choices"] = list(f.metadata["choices"])
    if f.metadata.get("metavar"):
        kw["metavar"] = f.metadata["metavar"]
    if base is bool:
        kw["action"] = argparse.BooleanOptionalAction
    elif typing.get_origin(base) is tuple:
        kw.update(nargs=len(typing.get_args(base)), type=typing.get_args(base)[0])
    else:
        kw["type"] = base
    return kw


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """Add every flag of ``CompressConfig`` and ``FitConfig`` in two groups, plus the ``--mlp``/``--doh``
    shortcuts for ``--parameterization``."""
    for owner, title in ((CompressConfig, "network and storage"), (FitConfig, "fitting")):
        group = parser.add_argument_group(title)
        for f in option_fields(owner):
            group.add_argument(flag_name(f), **_kwargs(f, owner))
        if owner is CompressConfig:
            for name in ("mlp", "doh"):
                group.add_argument(f"--{name}", dest="parameterization", action="store_const", const=name,
                                   help=f"same as --parameterization {name}")


def config_from_args(args: argparse.Namespace) -> CompressConfig:
    """The request the flags make: only the flags given are set, everything else is left to ``api.resolve``."""
    def given(owner: type) -> dict[str, Any]:
        out = {}
        for f in option_fields(owner):
            value = getattr(args, f.name, None)
            if value is not None:
                out[f.name] = tuple(value) if isinstance(value, list) else value
        return out
    fit = FitConfig(**given(FitConfig))
    if getattr(args, "quiet", False):
        fit.progress = False
    return CompressConfig(**given(CompressConfig), fit=fit)


