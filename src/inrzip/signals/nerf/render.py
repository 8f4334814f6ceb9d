"""Sampling along rays and volume rendering (NeRF, Mildenhall et al. 2020), batched in torch.

Hierarchical sampling comes in two forms. With one network (a ``Field``: encoded inputs
(B, ENCODED_WIDTH) -> (B, 4) = raw density, raw RGB) both passes use it: the coarse pass only places
the fine samples, so it runs without gradients, and the colour is rendered from the union of coarse and
fine samples. With ``networks = 2`` (NeRF's own scheme) the field is a stacked pair giving (2, B, 4):
network 0 is the coarse one, rendered and trained on the coarse samples, network 1 the fine one,
rendered on the union (``render_pair``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ...errors import FormatError
from ...nets.networks import positional_encoding

__all__ = ["POS_FREQS", "DIR_FREQS", "ENCODED_WIDTH", "DENSITY_SHIFT", "RenderConfig", "encode", "stratified_samples",
           "sample_pdf", "composite", "render_rays", "render_pair", "render_views",
           "rebatch", "render_batches"]

Field = Callable[[torch.Tensor], torch.Tensor]

POS_FREQS, DIR_FREQS = 10, 4  # NeRF's L = 10 for position, 4 for view direction
ENCODED_WIDTH = 3 * (1 + 2 * POS_FREQS) + 3 * (1 + 2 * DIR_FREQS)  # 63 + 27 = 90
DENSITY_SHIFT = -1.0  # sigma = softplus(raw - 1): starts semi-transparent, never without gradient
_FAR_DELTA = 1e10  # the last sample's interval reaches infinity (NeRF): catches LLFF's far background


@dataclass(frozen=True)
class RenderConfig:
    """How rays are sampled and composited; stored in the file header so decode renders alike."""

    near: float  # Blender 2, LLFF NDC 0
    far: float  # Blender 6, LLFF NDC 1
    samples: int = 64  # stratified (coarse) samples per ray
    fine: int = 0  # extra importance samples per ray (hierarchical sampling); 0 = off
    white_background: bool = True  # Blender RGBA was composited over white
    chunk: int = 4096  # rays per forward pass when rendering whole views
    networks: int = 1  # 2: separate coarse and fine networks (the field gives (2, B, 4))

    def queries_per_ray(self) -> int:
        """Network evaluations per ray when rendering (the decoder's work limit counts them)."""
        if self.networks > 1:  # the pair is evaluated together: both networks on every sample
            return self.networks * (self.samples + self.fine)
        return self.samples + (self.samples + self.fine if self.fine else 0)


def encode(points: torch.Tensor, viewdirs: torch.Tensor) -> torch.Tensor:
    """[PE10(x), PE4(d)] of points (..., S, 3) with one view direction per ray (..., 3).

    Inputs are divided by pi because ``positional_encoding`` uses sin(2^k pi x): the result is
    NeRF's sin(2^k x) exactly. The direction is encoded once per ray and broadcast to its samples.
    """
    pos = positional_encoding(points / math.pi, POS_FREQS)
    view = positional_encoding(viewdirs / math.pi, DIR_FREQS)
    view = view.unsqueeze(-2).expand(*pos.shape[:-1], view.shape[-1])
    return torch.cat([pos, view], dim=-1)


def stratified_samples(n_rays: int, cfg: RenderConfig, perturb: bool, generator: torch.Generator | None,
                       device: torch.device | str = "cpu") -> torch.Tensor:
    """(R, S) depths: one per equal bin of [near, far], uniform in its bin (training) or its midpoint."""
    s = cfg.samples
    edges = torch.linspace(cfg.near, cfg.far, s + 1, device=device)
    lower, width = edges[:-1], (cfg.far - cfg.near) / s
    if not perturb:
        return (lower + 0.5 * width).expand(n_rays, s).contiguous()
    u = torch.rand(n_rays, s, generator=generator).to(device)
    return lower + width * u


def sample_pdf(edges: torch.Tensor, weights: torch.Tensor, count: int, perturb: bool,
               generator: torch.Generator | None) -> torch.Tensor:
    """(R, count) depths drawn from the piecewise-constant pdf ``weights`` (R, S) over bins ``edges``
    (R, S+1) by inverse-CDF sampling; evenly spaced quantiles when not perturbed (deterministic)."""
    pdf = (weights + 1e-5) / (weights + 1e-5).sum(-1, keepdim=True)
    cdf = torch.cat([torch.zeros_like(pdf[:, :1]), torch.cumsum(pdf, -1)], -1).clamp(max=1.0)
    r = weights.shape[0]
    if perturb:
        u = torch.rand(r, count, generator=generator).to(weights.device)
    else:
        u = ((torch.arange(count, device=weights.device) + 0.5) / count).expand(r, count)
    idx = torch.searchsorted(cdf, u.contiguous(), right=True).clamp(1, cdf.shape[-1] - 1)
    c0, c1 = cdf.gather(-1, idx - 1), cdf.gather(-1, idx)
    e0, e1 = edges.gather(-1, idx - 1), edges.gather(-1, idx)
    frac = ((u - c0) / (c1 - c0).clamp(min=1e-8)).clamp(0.0, 1.0)
    return e0 + frac * (e1 - e0)


def composite(raw: torch.Tensor, t: torch.Tensor, ray_norm: torch.Tensor,
              white_background: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Alpha compositing of raw outputs (R, S, 4) at sorted depths t (R, S).

    sigma = softplus(raw0 - 1) (mip-NeRF's choice; NeRF's ReLU can start dead: with a small network
    under the default init every raw density may be negative, and then nothing gets a gradient),
    rgb = sigmoid(raw1:4). Sample i covers [t_i, t_{i+1}) (the last one to
    infinity), scaled by the ray direction's length to world units. Transmittance is computed as
    exp(-cumsum(sigma * delta)), exact for piecewise-constant density. Returns colours (R, 3) and
    weights (R, S).
    """
    sigma, rgb = F.softplus(raw[..., 0] + DENSITY_SHIFT), torch.sigmoid(raw[..., 1:])
    delta = torch.cat([t[:, 1:] - t[:, :-1], torch.full_like(t[:, :1], _FAR_DELTA)], -1) * ray_norm[:, None]
    tau = sigma * delta
    trans = torch.exp(-torch.cat([torch.zeros_like(tau[:, :1]), torch.cumsum(tau[:, :-1], -1)], -1))
    weights = -torch.expm1(-tau) * trans
    color = (weights[..., None] * rgb).sum(-2)
    if white_background:
        color = color + (1.0 - weights.sum(-1, keepdim=True))
    return color, weights


def _shade(field: Field, rays: torch.Tensor, t: torch.Tensor, cfg: RenderConfig) -> tuple[torch.Tensor, torch.Tensor]:
    o, d, view = rays[:, 0:3], rays[:, 3:6], rays[:, 6:9]
    points = o[:, None, :] + t[..., None] * d[:, None, :]  # (R, S, 3)
    raw = field(encode(points, view).reshape(-1, ENCODED_WIDTH)).reshape(*t.shape, -1)
    return composite(raw, t, d.norm(dim=-1), cfg.white_background)


def _query(field: Field, rays: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Raw outputs of a stacked pair at depths t (R, S): (2, R, S, 4)."""
    o, d, view = rays[:, 0:3], rays[:, 3:6], rays[:, 6:9]
    points = o[:, None, :] + t[..., None] * d[:, None, :]
    out = field(encode(points, view).reshape(-1, ENCODED_WIDTH))
    return out.reshape(out.shape[0], *t.shape, -1)


def render_pair(field: Field, rays: torch.Tensor, cfg: RenderConfig, perturb: bool = False,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(fine, coarse) colours (R, 3) of rays with NeRF's two networks: the coarse network's weights at the
    stratified samples place ``cfg.fine`` importance samples (without gradient, as in NeRF), and the fine
    network is rendered at the sorted union. Both networks see the coarse samples in one pass; at the fine
    samples only network 1's output is used."""
    t_c = stratified_samples(rays.shape[0], cfg, perturb, generator, rays.device)
    norm = rays[:, 3:6].norm(dim=-1)
    raw_c = _query(field, rays, t_c)
    coarse, w = composite(raw_c[0], t_c, norm, cfg.white_background)
    edges = torch.linspace(cfg.near, cfg.far, cfg.samples + 1, device=rays.device).expand(rays.shape[0], -1)
    t_f = sample_pdf(edges.contiguous(), w.detach(), cfg.fine, perturb, generator)
    raw_f = _query(field, rays, t_f)[1]
    t, order = torch.sort(torch.cat([t_c, t_f], -1), -1)
    raw = torch.cat([raw_c[1], raw_f], 1).gather(1, order[..., None].expand(-1, -1, raw_f.shape[-1]))
    return composite(raw, t, norm, cfg.white_background)[0], coarse


def render_rays(field: Field, rays: torch.Tensor, cfg: RenderConfig, perturb: bool = False,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Colours (R, 3) of rays (R, RAY_WIDTH); with ``cfg.fine`` the coarse pass places extra samples."""
    if cfg.networks > 1:
        return render_pair(field, rays, cfg, perturb, generator)[0]
    t = stratified_samples(rays.shape[0], cfg, perturb, generator, rays.device)
    if cfg.fine > 0:
        with torch.no_grad():
            _, w = _shade(field, rays, t, cfg)
        edges = torch.linspace(cfg.near, cfg.far, cfg.samples + 1, device=rays.device).expand(rays.shape[0], -1)
        t_fine = sample_pdf(edges.contiguous(), w, cfg.fine, perturb, generator)
        t, _ = torch.sort(torch.cat([t, t_fine], -1), -1)
    return _shade(field, rays, t, cfg)[0]


def rebatch(parts: Iterable[torch.Tensor], size: int) -> Iterator[torch.Tensor]:
    """Rows of ``parts`` (e.g. one view's rays each) regrouped into batches of ``size`` rows, the last one
    shorter: the batches slicing their concatenation would give, without ever holding it."""
    pending: list[torch.Tensor] = []
    count = 0
    for part in parts:
        pending.append(part)
        count += part.shape[0]
        while count >= size:
            rows = torch.cat(pending)
            yield rows[:size]
            rest = rows[size:]
            pending, count = ([rest] if rest.shape[0] else []), rest.shape[0]
    if count:
        yield torch.cat(pending)


@torch.no_grad()
def render_batches(field: Field, batches: Iterable[torch.Tensor], n_rays: int, cfg: RenderConfig,
                   progress: bool = True, desc: str = "rendering") -> np.ndarray:
    """(n_rays, 3) float32 colours in [0, 1] of rays given batch by batch (deterministic). Non-finite
    colours (a hostile file's network overflowing) are refused, never clamped into pixels."""
    out = np.empty((n_rays, 3), dtype=np.float32)
    start = 0
    total = -(-n_rays // cfg.chunk)
    for rays in tqdm(batches, total=total, desc=desc, unit="chunk", disable=not progress, leave=False):
        colours = render_rays(field, rays, cfg).float().cpu()
        if not bool(torch.isfinite(colours).all()):
            raise FormatError("the decoded network gives non-finite colours (NaN or infinity); the file is corrupt")
        out[start:start + colours.shape[0]] = colours.clamp(0.0, 1.0).numpy()
        start += colours.shape[0]
    return out


def render_views(field: Field, rays: torch.Tensor, height: int, width: int, cfg: RenderConfig,
                 progress: bool = True, desc: str = "rendering") -> np.ndarray:
    """(N, H, W, 3) float32 views from their rays (N*H*W, RAY_WIDTH), deterministic, in chunks."""
    batches = (rays[s:s + cfg.chunk] for s in range(0, rays.shape[0], cfg.chunk))
    return render_batches(field, batches, rays.shape[0], cfg, progress, desc).reshape(-1, height, width, 3)
