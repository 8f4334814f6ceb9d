"""Pinhole camera rays, NDC rays for forward-facing scenes, and camera poses (look-at, orbits).

Conventions are NeRF's (OpenGL): a camera-to-world pose ``c2w`` (3, 4) has columns right, up,
backwards, position; the camera looks along -z. Rays go through pixel *centres* ((i + 0.5), the
NeRF reference code uses i), so a view and its downscaled copy sample the same scene points.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["RAY_WIDTH", "pixel_directions", "camera_rays", "ndc_rays", "make_rays", "look_at",
           "lookat_params", "sphere_orbit", "spiral_orbit", "ORBITS"]

RAY_WIDTH = 9  # a ray is [origin (3), direction (3), unit view direction in world space (3)]


def pixel_directions(height: int, width: int, focal: float) -> torch.Tensor:
    """(H*W, 3) camera-frame directions through pixel centres, row-major, z = -1."""
    j, i = torch.meshgrid(torch.arange(height, dtype=torch.float64), torch.arange(width, dtype=torch.float64),
                          indexing="ij")
    x = (i + 0.5 - width / 2.0) / focal
    y = -(j + 0.5 - height / 2.0) / focal
    return torch.stack([x, y, -torch.ones_like(x)], dim=-1).reshape(-1, 3)


def camera_rays(c2w: torch.Tensor, height: int, width: int, focal: float) -> tuple[torch.Tensor, torch.Tensor]:
    """World-space origins and (unnormalised) directions, each (H*W, 3) float64, of one camera."""
    c2w = c2w.to(torch.float64)
    dirs = pixel_directions(height, width, focal) @ c2w[:3, :3].T
    return c2w[:3, 3].expand_as(dirs), dirs


def ndc_rays(height: int, width: int, focal: float, near: float, rays_o: torch.Tensor,
             rays_d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Map rays to normalised device coordinates (NeRF, Mildenhall et al. 2020, appendix C).

    Depth in [near, inf) becomes NDC z in [-1, 1), so an unbounded forward-facing scene is sampled
    uniformly in disparity with t in [0, 1]. Origins are first moved to the plane z = -near.
    """
    t = -(near + rays_o[..., 2]) / rays_d[..., 2]
    rays_o = rays_o + t[..., None] * rays_d
    ox, oy, oz = rays_o.unbind(-1)
    dx, dy, dz = rays_d.unbind(-1)
    ax, ay = -2.0 * focal / width, -2.0 * focal / height
    o = torch.stack([ax * ox / oz, ay * oy / oz, 1.0 + 2.0 * near / oz], dim=-1)
    d = torch.stack([ax * (dx / dz - ox / oz), ay * (dy / dz - oy / oz), -2.0 * near / oz], dim=-1)
    return o, d


def make_rays(poses: np.ndarray | torch.Tensor, height: int, width: int, focal: float,
              ndc: bool = False) -> torch.Tensor:
    """(N*H*W, RAY_WIDTH) float32 rays of N cameras (N, 3, 4); NDC uses near plane 1 (LLFF)."""
    out = []
    for c2w in torch.as_tensor(np.asarray(poses), dtype=torch.float64):
        o, d = camera_rays(c2w, height, width, focal)
        view = d / d.norm(dim=-1, keepdim=True)
        if ndc:
            o, d = ndc_rays(height, width, focal, 1.0, o, d)
        out.append(torch.cat([o, d, view], dim=-1))
    return torch.cat(out).to(torch.float32)


def _normalize(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def look_at(eye: np.ndarray, target: np.ndarray | None = None, up: np.ndarray | None = None) -> np.ndarray:
    """(N, 3, 4) poses of cameras at ``eye`` (N, 3) looking at ``target`` with ``up`` (default +z)."""
    eye = np.atleast_2d(np.asarray(eye, np.float64))
    target = np.zeros(3) if target is None else np.asarray(target, np.float64)
    up = np.array([0.0, 0.0, 1.0]) if up is None else np.asarray(up, np.float64)
    back = _normalize(eye - target)
    right = _normalize(np.cross(np.broadcast_to(up, back.shape), back))
    cam_up = np.cross(back, right)
    return np.stack([right, cam_up, back, eye], axis=-1)


def lookat_params(poses: np.ndarray, tol: float = 1e-5) -> np.ndarray | None:
    """Camera positions (N, 3) if every pose is a roll-free look-at of the origin (Blender test
    views are), so a pose costs 3 header floats instead of 12; None otherwise."""
    eye = poses[:, :3, 3]
    if np.any(np.linalg.norm(eye[:, :2], axis=-1) < 1e-6):
        return None
    err = np.abs(look_at(eye) - poses).max()
    return eye.astype(np.float32) if err < tol else None


def sphere_orbit(params: list[float], frames: int) -> np.ndarray:
    """Turntable: ``params`` = [radius, elevation in degrees]; cameras look at the origin, z up."""
    radius, elev = params[0], math.radians(params[1])
    theta = np.linspace(0.0, 2.0 * math.pi, frames, endpoint=False)
    eye = radius * np.stack([np.cos(elev) * np.cos(theta), np.cos(elev) * np.sin(theta),
                             np.full_like(theta, np.sin(elev))], axis=-1)
    return look_at(eye)


def spiral_orbit(params: list[float], frames: int) -> np.ndarray:
    """NeRF's LLFF spiral around the (recentred, identity) mean pose: ``params`` = [rx, ry, rz,
    focus depth, up_x, up_y, up_z]; two turns, half-rate in depth, always facing the focus point."""
    rads, focus, up = np.asarray(params[:3]), params[3], np.asarray(params[4:7])
    theta = np.linspace(0.0, 4.0 * math.pi, frames, endpoint=False)
    eye = np.stack([np.cos(theta), -np.sin(theta), -np.sin(0.5 * theta)], axis=-1) * rads
    return look_at(eye, target=np.array([0.0, 0.0, -focus]), up=up)


ORBITS = {"sphere": sphere_orbit, "spiral": spiral_orbit}
