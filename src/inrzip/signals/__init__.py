"""Signal kinds. Importing this package registers every kind; add one line per new kind."""

from . import (
    image,  # noqa: F401  (registers "image")
    occupancy,  # noqa: F401  (registers "occupancy": meshes)
    radiance,  # noqa: F401  (registers "radiance": NeRF scenes)
)
from .base import SIGNALS, Field, Signal, load_signal, signal_class

__all__ = ["SIGNALS", "Field", "Signal", "load_signal", "signal_class"]
