"""Signal kinds. Importing this package registers every kind; add one line per new kind."""

from .base import SIGNALS, Signal, load_signal, register_signal, signal_class
from . import image  # noqa: F401  (registers "image")
from . import occupancy  # noqa: F401  (registers "occupancy": meshes)
from . import radiance  # noqa: F401  (registers "radiance": NeRF scenes)

__all__ = ["SIGNALS", "Signal", "load_signal", "register_signal", "signal_class"]
