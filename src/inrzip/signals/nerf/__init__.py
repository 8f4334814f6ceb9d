"""Radiance-field (NeRF) machinery: scene loading, camera rays, volume rendering, orbit videos.

Kept apart from ``signals/radiance.py`` so the signal stays a thin adapter to the shared trainer,
and so the pieces (rays, rendering) are testable on their own against closed-form cases.
"""
