"""User-facing errors: anything a user can cause ends as one clear line, never a traceback."""

from __future__ import annotations

__all__ = ["InrzipError", "FormatError", "InputError", "shown"]


class InrzipError(Exception):
    """Base class of every error the CLI reports as ``inrzip: error: ...`` with exit status 2."""


class FormatError(InrzipError):
    """An ``.inr`` file is truncated, corrupted, hostile or from a newer inrzip."""


class InputError(InrzipError):
    """A source signal (image, mesh, scene) cannot be read or is out of bounds."""


def shown(value: object, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters: a hostile file's 4096-character string or 65536-entry
    list must not turn a one-line error into a page."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
