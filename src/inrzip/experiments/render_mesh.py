"""An offscreen mesh renderer for the qualitative figures: real ray casting (trimesh), Lambert + Blinn shading.

No OpenGL renderer (pyrender, VTK, Open3D) is installed on the project's machines, so the meshes of the
figures are *ray cast*: one orthographic ray per pixel against the triangles (trimesh's ray-triangle
intersector, an R-tree over the faces), the nearest hit shaded by its face normal under a key light, a fill
light and ambient light. The mesh is rotated to face the camera and the rays run along -z, so each ray's
bounding box is a thin column and the R-tree query stays cheap on 100k-face meshes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["View", "render"]


@dataclass(frozen=True)
class View:
    """Camera: rotation of the mesh about y then x (degrees), image side in pixels, colours and lights."""

    yaw: float = 30.0
    pitch: float = -20.0
    size: int = 256
    colour: tuple[float, float, float] = (0.80, 0.74, 0.64)
    background: float = 1.0
    key: tuple[float, float, float] = (0.4, 0.5, 1.0)  # towards the light, camera frame (+z: towards the viewer)
    fill: tuple[float, float, float] = (-0.6, -0.2, 0.6)


def _rotation(yaw: float, pitch: float) -> np.ndarray:
    y, p = np.radians(yaw), np.radians(pitch)
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    return rx @ ry


def render(mesh, view: View = View(), frame: tuple[np.ndarray, float] | None = None) -> np.ndarray:
    """RGB image (size, size, 3) in [0, 1] of ``mesh`` (a trimesh.Trimesh). ``frame`` = (centre, half-width)
    fixes the framing, so meshes of one object (ground truth, decoded) are drawn at the same scale."""
    import trimesh

    centre, half = frame if frame is not None else (mesh.bounds.mean(0), float(np.ptp(mesh.bounds, 0).max()) * 0.55)
    rot = _rotation(view.yaw, view.pitch)
    m = trimesh.Trimesh(vertices=(np.asarray(mesh.vertices) - centre) @ rot.T / half, faces=np.asarray(mesh.faces),
                        process=False)
    n = view.size
    axis = (np.arange(n) + 0.5) / n * 2.0 - 1.0
    xs, ys = np.meshgrid(axis, -axis)  # row 0 at the top
    origins = np.stack([xs.ravel(), ys.ravel(), np.full(n * n, 3.0)], -1)
    dirs = np.broadcast_to(np.array([0.0, 0.0, -1.0]), origins.shape)
    tri, ray = trimesh.ray.ray_triangle.RayMeshIntersector(m).intersects_id(origins, dirs, multiple_hits=False)[:2]
    image = np.full((n * n, 3), view.background, dtype=np.float64)
    if len(ray):
        normals = m.face_normals[tri]
        normals = np.where((normals[:, 2] < 0)[:, None], -normals, normals)  # two-sided (open decoded surfaces)
        key, fill = (np.asarray(v) / np.linalg.norm(v) for v in (view.key, view.fill))
        half_vec = (key + [0, 0, 1]) / np.linalg.norm(key + [0, 0, 1])
        diffuse = 0.75 * np.clip(normals @ key, 0, 1) + 0.25 * np.clip(normals @ fill, 0, 1)
        specular = 0.25 * np.clip(normals @ half_vec, 0, 1) ** 32
        shade = 0.18 + diffuse
        image[ray] = np.clip(shade[:, None] * np.asarray(view.colour) + specular[:, None], 0, 1)
    return image.reshape(n, n, 3)
