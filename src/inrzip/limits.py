"""What a decoder agrees to do for a file or a source it did not make: the one table of limits.

Every cap that protects against a hostile file or an absurd request lives here, so the image reader,
the bitstream validator, the occupancy grid and the NeRF renderer refuse the same sizes, and a user
raises one with one flag (named in each error message).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["Limits", "DEFAULT_LIMITS"]


@dataclass(frozen=True)
class Limits:
    """Caps against hostile headers and absurd requests (the flag that raises each is in its error)."""

    max_pixels: int = 1 << 26  # image pixels read or decoded, NeRF pixels rendered (--max-pixels)
    max_params: int = 1 << 24  # values stored in a file
    max_generator_work: int = 1 << 31  # entries of D'OH's B regenerated on decode
    max_resolution: int = 1024  # occupancy grid side (--resolution; 1024^3 booleans = 1 GB)
    max_mesh_bytes: int = 1 << 30  # mesh files read
    max_samples: int = 1024  # NeRF samples per ray
    max_orbit: int = 3600  # NeRF orbit frames

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


DEFAULT_LIMITS = Limits()
