"""Radiance fields (NeRF): a scene folder of posed views becomes rays; the network is queried at
samples along each ray and volume-rendered into pixel colours (``inrzip.nerf``).

Network input: the signal encodes its own inputs, [PE10(xyz), PE4(view direction)] = 90 features,
so the shared ``NetworkSpec`` has ``pe_freqs = 0`` and ``in_features = 90``; outputs are
(raw density, raw RGB). Every parameterization (mlp, D'OH) and quantizer works unchanged.
The file keeps the camera model (intrinsics, depth range, NDC flag, the held-out poses, an orbit),
never images: ground truth for PSNR/SSIM is re-read from the scene folder.

One training "epoch" is ``rays_per_epoch`` rays (default 2^16) taken from a permutation of all
training rays that continues across epochs: a full pass over 100 views at 100x100 (1M rays) would
make time budgets and the per-epoch learning-rate decay far too coarse.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, Iterator

import numpy as np
import torch

from ..errors import FormatError, InputError, shown
from ..limits import DEFAULT_LIMITS, Limits
from ..metrics import psnr, ssim
from .base import SIGNALS, Field, Meta, Signal, batch_rows, check_network, check_work
from .canonical import correct, near_steps, reference_field
from .nerf import datasets, render, video
from .nerf import rays as R

__all__ = ["RadianceSignal", "render_config", "meta_poses", "ground_truth", "compare_views"]

DEFAULT_RAYS_PER_EPOCH = 1 << 16
DEFAULT_SAMPLES = 32  # beat 64 at equal CPU time (docs/nerf.md)
_POSE_WIDTH = {"lookat": 3, "matrix": 12}
_ORBIT_WIDTH = {"sphere": 2, "spiral": 7}
MAX_SAMPLES = DEFAULT_LIMITS.max_samples
MAX_ORBIT = DEFAULT_LIMITS.max_orbit
_MAX_CAMERA = 1e8  # |camera values| in a header (positions, focal length, depth range): beyond is corrupt


def render_config(meta: Meta) -> render.RenderConfig:
    return render.RenderConfig(near=meta["near"], far=meta["far"], samples=meta["samples"], fine=meta["fine"],
                               white_background=meta["white"], networks=meta.get("networks", 1))


def meta_poses(meta: Meta) -> np.ndarray:
    """(N, 3, 4) held-out camera poses rebuilt from the header (look-at positions or matrices)."""
    flat = np.asarray(meta["test_poses"], np.float64)
    if meta["pose_kind"] == "lookat":
        return _checked_poses(R.look_at, flat.reshape(-1, 3))
    return flat.reshape(-1, 3, 4)


def _checked_poses(make: Any, *args: Any) -> np.ndarray:
    """Poses from header values; degenerate ones (a camera at its target, a zero up vector) are a corrupt
    file, not NumPy warnings and NaN rays."""
    try:
        with np.errstate(divide="raise", over="raise", invalid="raise"):
            poses = make(*args)
    except (FloatingPointError, ValueError, IndexError):
        raise FormatError("radiance header has degenerate cameras; the file is corrupt") from None
    if not np.isfinite(poses).all():
        raise FormatError("radiance header has degenerate cameras; the file is corrupt")
    return poses


def _pose_fields(poses: np.ndarray) -> dict[str, Any]:
    eye = R.lookat_params(poses)
    if eye is not None:
        return {"pose_kind": "lookat", "test_poses": eye.ravel().tolist()}
    return {"pose_kind": "matrix", "test_poses": poses.astype(np.float32).ravel().tolist()}


@torch.no_grad()
def _canonical(colours: np.ndarray, reference: Field, poses: np.ndarray, size: tuple[int, int], focal: float,
               ndc: bool, cfg: render.RenderConfig) -> None:
    """Render again on the CPU the rays whose colour lies near an 8-bit rounding boundary (in place), so views
    saved as images are the CPU decode's bit for bit; the other rays keep the device's floats."""
    h, w = size
    table = torch.from_numpy(colours)

    def cpu_colours(rows: torch.Tensor) -> torch.Tensor:
        out = []
        for view in torch.unique(rows // (h * w)):  # rows ascend, so grouping by view keeps their order
            mine = rows[rows // (h * w) == view] % (h * w)
            rays = R.make_rays(poses[int(view)][None], h, w, focal, ndc)[mine]
            out.append(render.render_rays(reference, rays, cfg).float().clamp(0.0, 1.0))
        return torch.cat(out)
    correct(table, near_steps(table - 0.5, 255), cpu_colours)


def compare_views(rendered: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Mean over views of per-view PSNR and SSIM (the NeRF papers' convention), on float colours."""
    return {"psnr": float(np.mean([psnr(a, b) for a, b in zip(rendered, truth)])),
            "ssim": float(np.mean([ssim(a, b) for a, b in zip(rendered, truth)]))}


def ground_truth(scene: str | Path, meta: Meta) -> np.ndarray:
    """Held-out views of ``scene`` at the file's size; refuses a scene whose cameras differ."""
    s = datasets.load_scene(scene, size=max(meta["h"], meta["w"]), splits=("test",))
    views = s.splits["test"]
    ok = (s.height, s.width) == (meta["h"], meta["w"]) and views.poses.shape == meta_poses(meta).shape
    if not ok or np.abs(views.poses - meta_poses(meta)).max() > 1e-4:
        raise InputError(f"{scene}: its test cameras differ from the ones in this file; pass the scene it was made from")
    return views.images


@SIGNALS.register()
class RadianceSignal(Signal):
    """A posed-image scene (Blender or LLFF); predictions are volume-rendered ray colours."""

    kind = "radiance"
    in_features = render.ENCODED_WIDTH  # already encoded: the network's spec must have pe_freqs = 0
    encodes_inputs = True  # api: build the spec with pe_freqs = 0 whatever --pe says
    default_loss = "mse"
    default_activation = "relu"
    default_parameterization = "mlp"  # the supplement's NeRF rows quantize a plain MLP
    default_arch = "64x4"  # the supplement's NeRF rows: 4 hidden layers of 64
    # Fit settings when the user gives none (docs/nerf.md, "CPU settings"): 60 x 2^16 rays is ~10 min
    # on one core; QAT (if asked) runs in the last 20% of the epochs, after a float warm-up. The rate ends at
    # 0.98^60 of its start however many epochs are asked for (``final_lr_fraction``: a per-epoch 0.98 with
    # --epochs 1000 under a time budget had decayed the rate 200-fold by a fifth of the budget).
    fit_defaults: ClassVar[dict[str, Any]] = {"epochs": 60, "batch_size": 512, "lr": 2e-3, "betas": (0.9, 0.999),
                                              "final_lr_fraction": 0.98 ** 60, "threads": 1, "qat_start": 0.8}
    out_features = 4  # raw density + raw RGB

    def __init__(self, scene: datasets.Scene, samples: int = DEFAULT_SAMPLES, fine: int = 0,
                 rays_per_epoch: int = DEFAULT_RAYS_PER_EPOCH, progress: bool = True,
                 limits: Limits = DEFAULT_LIMITS, networks: int = 1) -> None:
        cap = limits.max_samples
        if not 1 <= samples <= cap or not 0 <= fine <= cap or rays_per_epoch < 1:
            raise InputError(f"samples must be 1..{cap}, fine 0..{cap} ({limits.hint('max_samples')}), "
                             "rays per epoch >= 1")
        if networks not in (1, 2) or (networks == 2 and fine < 1):
            raise InputError("networks must be 1 or 2, and 2 (coarse + fine) needs --fine of at least 1")
        self.scene, self.progress, self.networks = scene, progress, networks
        self.cfg = render.RenderConfig(scene.near, scene.far, samples, fine, scene.white_background,
                                       networks=networks)
        train = scene.splits["train"]
        self.rays = R.make_rays(train.poses, scene.height, scene.width, scene.focal, scene.ndc)  # (N*H*W, 9)
        self.targets = torch.from_numpy(train.images.reshape(-1, 3).copy())
        self.rays_per_epoch = min(rays_per_epoch, self.rays.shape[0])
        self._perm, self._pos = torch.empty(0, dtype=torch.long), 0
        self._gen = torch.Generator().manual_seed(0)  # stratified jitter; reseeded from the trainer's
        self._cache: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    # ---- encoder side -------------------------------------------------------------------------
    @classmethod
    def sniff(cls, path: Path) -> bool:
        return datasets.sniff_scene(Path(path)) is not None

    @classmethod
    def load(cls, path: Path, size: int = datasets.DEFAULT_SIZE, samples: int = DEFAULT_SAMPLES, fine: int = 0,
             rays_per_epoch: int = DEFAULT_RAYS_PER_EPOCH, progress: bool = True, limits: Limits = DEFAULT_LIMITS,
             networks: int | None = None, **_: Any) -> "RadianceSignal":
        """``networks``: 2 fits NeRF's separate coarse and fine networks (needs ``fine``), 1 one network for
        both passes; default 1."""
        return cls(datasets.load_scene(path, size, limits=limits), samples, fine, rays_per_epoch, progress, limits,
                   networks or 1)

    def num_samples(self) -> int:
        return self.rays_per_epoch

    def _data(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        key = str(device)
        if key not in self._cache:
            self._cache[key] = (self.rays.to(device), self.targets.to(device))
        return self._cache[key]

    def _next_indices(self, generator: torch.Generator) -> torch.Tensor:
        """The next ``rays_per_epoch`` entries of a ray permutation renewed when used up."""
        out, need = [], self.rays_per_epoch
        while need:
            if self._pos >= self._perm.numel():
                self._perm, self._pos = torch.randperm(self.rays.shape[0], generator=generator), 0
            take = self._perm[self._pos:self._pos + need]
            out.append(take)
            self._pos, need = self._pos + take.numel(), need - take.numel()
        return torch.cat(out)

    def batches(self, batch_size: int, generator: torch.Generator, device: torch.device) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        rays, targets = self._data(device)
        idx = self._next_indices(generator).to(device)
        self._gen.manual_seed(int(torch.randint(0, 2 ** 62, (1,), generator=generator)))
        for s in range(0, idx.numel(), batch_size):
            b = idx[s:s + batch_size]
            yield rays[b], targets[b].repeat(1, self.networks)  # a pair: fine and coarse colours, as predict

    def predict(self, field: Field, inputs: torch.Tensor) -> torch.Tensor:
        """Ray colours (B, 3) of rays (B, 9), with stratified jitter (training). A coarse + fine pair gives
        (B, 6): fine, then coarse colours, so the trainer's MSE is NeRF's loss (their mean)."""
        if self.networks > 1:
            return torch.cat(render.render_pair(field, inputs, self.cfg, perturb=True, generator=self._gen), -1)
        return render.render_rays(field, inputs, self.cfg, perturb=True, generator=self._gen)

    def meta(self) -> Meta:
        s = self.scene
        orbit = np.asarray(s.orbit, np.float32).tolist()
        return {"scene": s.format, "h": s.height, "w": s.width, "focal": float(s.focal), "near": float(s.near),
                "far": float(s.far), "ndc": bool(s.ndc), "white": bool(s.white_background),
                "samples": self.cfg.samples, "fine": self.cfg.fine, **_pose_fields(s.splits["test"].poses),
                "orbit_kind": s.orbit_kind, "orbit": orbit, **({"networks": 2} if self.networks == 2 else {})}

    def evaluate(self, field: Field, device: torch.device | str = "cpu") -> dict[str, float]:
        """Held-out views rendered from the header's cameras (as a decoder would) vs the scene's."""
        views = self.reconstruct(self.meta(), field, device=device, progress=self.progress)
        return compare_views(views, self.scene.splits["test"].images)

    # ---- decoder side -------------------------------------------------------------------------
    @classmethod
    def validate_meta(cls, meta: Meta, limits: Limits) -> None:
        ints = [meta.get(k) for k in ("h", "w", "samples", "fine")]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in ints):
            raise FormatError("radiance header lacks integer h, w, samples or fine")
        h, w, samples, fine = ints
        floats = [meta.get(k) for k in ("focal", "near", "far")]
        if not all(isinstance(v, float) and abs(v) <= _MAX_CAMERA for v in floats) or not floats[1] < floats[2] \
                or floats[0] <= 0 or not isinstance(meta.get("ndc"), bool):
            raise FormatError("radiance header has a bad focal length, near/far range or NDC flag")
        cap = limits.max_samples
        if not (1 <= samples <= cap and 0 <= fine <= cap and h >= 1 and w >= 1):
            raise FormatError(f"radiance header: samples 1..{cap}, fine 0..{cap} ({limits.hint('max_samples')}), "
                              "positive size")
        if meta.get("networks", 1) not in (1, 2) or isinstance(meta.get("networks"), bool) \
                or (meta.get("networks") == 2 and fine < 1):
            raise FormatError("radiance header: networks must be 1, or 2 (coarse + fine) with fine samples")
        if meta.get("in") != render.ENCODED_WIDTH or meta.get("pe") != 0 or meta.get("out") != 4:
            raise FormatError(f"radiance network must take {render.ENCODED_WIDTH} encoded inputs (pe 0) and give 4 outputs")
        check_network(meta, cls.in_features, cls.out_features)
        cls._validate_cameras(meta, h * w, limits)

    @staticmethod
    def _validate_cameras(meta: Meta, pixels: int, limits: Limits) -> None:
        kind, poses, okind, orbit = (meta.get(k) for k in ("pose_kind", "test_poses", "orbit_kind", "orbit"))
        if not isinstance(kind, str) or kind not in _POSE_WIDTH or not isinstance(poses, list) or not poses \
                or len(poses) % _POSE_WIDTH[kind]:
            raise FormatError("radiance header has no valid held-out camera poses")
        if not isinstance(okind, str) or okind not in _ORBIT_WIDTH or not isinstance(orbit, list) \
                or len(orbit) != _ORBIT_WIDTH[okind]:
            raise FormatError("radiance header has no valid orbit")
        if not (np.abs(poses) <= _MAX_CAMERA).all() or not (np.abs(orbit) <= _MAX_CAMERA).all() \
                or not isinstance(meta.get("white"), bool):
            raise FormatError("radiance header has non-finite cameras or no background flag")
        views = len(poses) // _POSE_WIDTH[kind]
        if views * pixels > limits.max_pixels:
            raise FormatError(f"radiance header claims {views} views of {pixels} pixels, over the limit of "
                              f"{limits.max_pixels} ({limits.hint('max_pixels')} if you trust this file)")

    @classmethod
    def reconstruct(cls, meta: Meta, field: Field, limits: Limits = DEFAULT_LIMITS, split: str = "test",
                    orbit: int = 0, scale: float = 1.0, device: torch.device | str = "cpu", progress: bool = True,
                    **_: Any) -> np.ndarray:
        """(N, H, W, 3) float32 views: the held-out cameras (``split='test'``) or an ``orbit`` of N frames.
        Rays are made view by view as batches need them, so memory is the views plus one batch."""
        if isinstance(orbit, bool) or not isinstance(orbit, int) or not 0 <= orbit <= limits.max_orbit:
            raise InputError(f"orbit must be 0..{limits.max_orbit} frames (lower --orbit or {limits.hint('max_orbit')})")
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale < float("inf"):
            raise InputError(f"scale {shown(scale)} is invalid; give a positive --scale")
        if orbit:
            poses = _checked_poses(R.ORBITS[meta["orbit_kind"]], meta["orbit"], int(orbit))
        elif split == "test":
            poses = meta_poses(meta)
        else:
            raise InputError(f"the file holds only the held-out (test) cameras, not {split!r}; use --split test or --orbit N")
        h, w = max(1, round(meta["h"] * scale)), max(1, round(meta["w"] * scale))
        if len(poses) * h * w > limits.max_pixels:
            raise InputError(f"{len(poses)} views at {w}x{h} exceed {limits.max_pixels} pixels; lower --scale or --orbit, "
                             f"or {limits.hint('max_pixels')}")
        cfg = render_config(meta)
        check_work(meta, len(poses) * h * w * cfg.queries_per_ray(), limits, "lower --scale or --orbit")
        cfg = replace(cfg, chunk=batch_rows(meta, cfg.chunk, cfg.networks * (cfg.samples + cfg.fine)))
        focal = meta["focal"] * w / meta["w"]
        views = (R.make_rays(pose[None], h, w, focal, meta["ndc"]).to(device) for pose in poses)
        batches = render.rebatch(views, cfg.chunk)
        colours = render.render_batches(field, batches, len(poses) * h * w, cfg, progress=progress)
        reference = reference_field(field, device)
        if reference is not None:  # on a GPU: the CPU's colour where the 8-bit rounding is close (canonical.py)
            _canonical(colours, reference, poses, (h, w), focal, meta["ndc"], cfg)
        return colours.reshape(-1, h, w, 3)

    decode_options = ("scale",)
    formats = ("npy", "gif", "mp4", "folder")

    @classmethod
    def check_format(cls, meta: Meta, fmt: str) -> str | None:
        """An MP4 needs the optional imageio-ffmpeg: said before the render, not after it."""
        video.check_writable(fmt)
        return None

    @classmethod
    def save(cls, output: np.ndarray, path: Path, meta: Meta) -> None:
        """``.gif``/``.mp4``: an animation; ``.npy``: the float views; otherwise a folder of PNGs."""
        video.save_views(output, Path(path))
