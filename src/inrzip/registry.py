"""One registry type for every family of variants (signals, quantizers, losses, codecs, ...).

A registry is a dict from name to entry, filled by ``@REGISTRY.register()`` where the entry is defined,
so a new variant is one decorated class or function and never a new branch in an if-chain. ``get``
turns an unknown name into the one-line error the CLI prints, listing the names it knows.
"""

from __future__ import annotations

from typing import Callable, Generic, TypeVar

from .errors import InrzipError, shown

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(dict[str, T], Generic[T]):
    """``name -> entry`` with a decorator to fill it and a lookup that fails with a clear message."""

    def __init__(self, what: str, error: type[InrzipError] = InrzipError) -> None:
        super().__init__()
        self.what, self.error = what, error

    def register(self, name: str | None = None) -> Callable[[T], T]:
        """Decorator adding an entry under ``name`` (default: the entry's ``name`` or ``kind`` attribute)."""
        def deco(entry: T) -> T:
            key = name or getattr(entry, "name", None) or getattr(entry, "kind", None)
            if not isinstance(key, str):
                raise TypeError(f"{entry!r} needs a name to be registered as a {self.what}")
            self[key] = entry
            return entry
        return deco

    def get(self, name: str, hint: str = "") -> T:  # type: ignore[override]
        """The entry ``name``; an unknown name is an ``error`` naming the known ones."""
        try:
            return self[name]
        except (KeyError, TypeError):
            raise self.error(f"unknown {self.what} {shown(name)}; choose from {sorted(self)}{hint}") from None
