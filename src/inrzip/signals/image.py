"""Images: pixels at coordinates in [-1, 1]^2 (each axis mapped separately, so non-square images
do not stretch past the range as COIN's x in [-1, 2] did). Decodes at any resolution."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch

from ..errors import FormatError, InputError
from ..limits import DEFAULT_LIMITS, Limits
from ..metrics import psnr, ssim
from .base import (
    PARALLEL_CHUNK,
    SIGNALS,
    Field,
    Meta,
    Signal,
    batch_rows,
    check_network,
    check_work,
    finite_outputs,
    render_workers,
    run_chunks,
)
from .canonical import correct, draft, near_steps, reference_field
from .imageio import HOLDS_16, SUFFIXES, read_array, read_image, write_pixels

__all__ = ["ImageSignal", "read_image", "image_grid", "render_image"]

# the largest encoded pixel table kept for a fit (``encoded_batches``): a 768x512 photograph's 42 features take 66 MB
ENCODED_TABLE_BYTES = 128 << 20
_CHUNK = 1 << 15  # pixels per forward pass when rendering on one worker (a GPU, one thread): 32768 decodes a 768x512 MLP file in 0.18 s against 0.23 s at 65536 (activations stay in cache; same pixels)


def _axis(n: int, device: torch.device | str, source: int | None = None, sub: int = 1) -> torch.Tensor:
    """Sample points of an n-pixel axis: the fitted grid's pixel centres, linspace(-1, 1, n), or, for an axis
    resampled from ``source`` pixels, the centres of its n pixels under the pixel-area convention (PIL,
    OpenCV, align_corners=False: output pixel i sits at source position (i + 1/2) source / n - 1/2), each
    split into ``sub`` points over its width (box filtering when shrinking)."""
    if source is None or (source == n and sub == 1):
        return torch.linspace(-1.0, 1.0, n, device=device) if n > 1 else torch.zeros(1, device=device)
    if source == 1:
        return torch.zeros(n * sub, device=device)
    steps = (torch.arange(n * sub, dtype=torch.float64) + 0.5) / sub  # output pixel units
    position = steps * (source / n) - 0.5  # source pixel units
    return (position * (2.0 / (source - 1)) - 1.0).to(torch.float32).to(device)


def image_grid(h: int, w: int, device: torch.device | str = "cpu", source: tuple[int, int] | None = None,
               sub: int = 1) -> torch.Tensor:
    """(h*w, 2) coordinates (x, y), row-major like the pixels: the fitted grid on [-1, 1], or an h x w
    resampling of a ``source`` = (h, w) grid with ``sub`` x ``sub`` points per pixel (``_axis``)."""
    sh, sw = source if source is not None else (None, None)
    gy, gx = torch.meshgrid(_axis(h, device, sh, sub), _axis(w, device, sw, sub), indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)


def _quantize(values: np.ndarray, depth: int) -> np.ndarray:
    """Integers of ``depth`` bits; clipping first keeps huge values from overflowing (same integers)."""
    peak = (1 << depth) - 1
    return np.rint(np.clip(values, 0.0, 1.0) * np.float32(peak)).astype(np.uint16 if depth > 8 else np.uint8)


@torch.no_grad()
def render_image(field: Field, h: int, w: int, channels: int, depth: int, device: torch.device | str = "cpu",
                 source: tuple[int, int] | None = None, sub: int = 1, chunk: int = _CHUNK,
                 progress: bool = False) -> np.ndarray:
    """Evaluate the field on an h x w grid, ``chunk`` samples at a time; integer image of the given bit depth.
    ``source``: the fitted image's (h, w) when resampling it (``image_grid``); with ``sub`` > 1 each pixel is the
    mean of ``sub`` x ``sub`` samples over its area (a box filter: no aliasing in a smaller image). Coordinates
    are made per chunk (the same values as ``image_grid``), so memory is the output plus a chunk per worker; on a
    multi-core CPU the chunks are spread over the cores (``run_chunks``: the same pixels, bit for bit)."""
    sh, sw = source if source is not None else (None, None)
    # the sample points are computed on the CPU on every device (then moved): a GPU's linspace may round otherwise
    ys, xs = _axis(h, "cpu", sh, sub).to(device), _axis(w, "cpu", sw, sub).to(device)
    at = _on_grid(field, xs, ys)
    reference = reference_field(field, device)
    if reference is not None:  # on a GPU: the device's samples, corrected to the CPU's near a boundary
        at = _canonical(at, _on_grid(reference, xs.cpu(), ys.cpu()), (len(ys), len(xs)), channels, depth, sub,
                        chunk, device)
        device = "cpu"
    out = np.empty((h * w, channels), dtype=np.uint16 if depth > 8 else np.uint8)
    workers = render_workers(device)
    if workers > 1:
        chunk = min(chunk, PARALLEL_CHUNK)
    if sub == 1:
        span = _span(field, xs, ys, device) if reference is None else _pixels(at, w, device)

        def rows(s: int) -> None:
            out[s:s + chunk] = _to_levels(span(s, min(h * w, s + chunk)), depth)
        run_chunks(rows, range(0, h * w, chunk), workers, progress)
        return out.reshape(h, w, channels)
    image = out.reshape(h, w, channels)
    tile_w = max(1, min(w, chunk // (sub * sub)))
    tile_h = max(1, chunk // (tile_w * sub * sub))
    tiles = [(r, c) for r in range(0, h, tile_h) for c in range(0, w, tile_w)]

    def tile(k: int) -> None:
        r, c = tiles[k]
        n_rows, n_cols = min(h, r + tile_h) - r, min(w, c + tile_w) - c
        gy, gx = torch.meshgrid(torch.arange(r * sub, (r + n_rows) * sub, device=device),
                                torch.arange(c * sub, (c + n_cols) * sub, device=device), indexing="ij")
        y = at(gx.reshape(-1), gy.reshape(-1)).float()
        mean = y.reshape(n_rows, sub, n_cols, sub, channels).double().mean(dim=(1, 3)).float()
        levels = _to_levels(mean.reshape(-1, channels), depth)
        image[r:r + n_rows, c:c + n_cols] = levels.reshape(n_rows, n_cols, channels)
    run_chunks(tile, range(len(tiles)), workers, progress)
    return image


def _canonical(at: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
               reference: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], shape: tuple[int, int], channels: int,
               depth: int, sub: int, chunk: int, device: torch.device | str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """``at`` over a CPU table of every sample of the grid (``shape`` = samples per column and row): the device's
    values, except those whose pixel lies near a rounding boundary, which ``reference`` (the CPU) recomputes
    (``canonical``: the decoded integers are the CPU decode's)."""
    ny, nx = shape
    table = draft(lambda idx: at(idx % nx, idx // nx), ny * nx, channels, chunk, device)
    peak, (h, w) = (1 << depth) - 1, (ny // sub, nx // sub)
    flagged = torch.empty(ny * nx, dtype=torch.bool)
    band = max(1, chunk // (nx * sub))  # output rows at a time: the float64 means stay a chunk's size
    for r in range(0, h, band):
        rows = slice(r * sub * nx, min(h, r + band) * sub * nx)
        n = min(h, r + band) - r
        block = table[rows].reshape(n, sub, w, sub, channels)
        # a pixel is the mean of its sub x sub samples (one sample at sub 1: the mean is the value, exactly);
        # near its boundary, all of them are recomputed
        means = block.double().mean(dim=(1, 3)).float()
        near = near_steps(means.reshape(-1, channels), peak).reshape(n, 1, w, 1).expand(n, sub, w, sub)
        flagged[rows] = near.reshape(-1) | ~torch.isfinite(table[rows]).all(dim=1)
    correct(table, flagged, lambda rows: reference(rows % nx, rows // nx))
    return lambda ix, iy: table[iy * nx + ix]


def _on_grid(field: Field, xs: torch.Tensor, ys: torch.Tensor) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """``at(ix, iy)``: the field at the grid points ``(xs[ix], ys[iy])``. A field that knows grids (a network with
    a positional encoding: ``nets.NetworkField.on_grid``) encodes each axis once; any other callable gets the
    coordinates."""
    on_grid = getattr(field, "on_grid", None)
    if on_grid is not None:
        evaluate = on_grid([xs, ys])
        return lambda ix, iy: evaluate([ix, iy])
    return lambda ix, iy: field(torch.stack([xs[ix], ys[iy]], dim=1))


def _span(field: Field, xs: torch.Tensor, ys: torch.Tensor, device: torch.device | str) -> Callable[[int, int], torch.Tensor]:
    """``f(start, stop)``: the field at pixels ``start .. stop`` in row order. A field that renders runs of a
    grid (``nets.NetworkField.on_grid_span``) builds a run's features by one broadcast; else pixel by pixel."""
    on_span = getattr(field, "on_grid_span", None)
    if on_span is None:
        return _pixels(_on_grid(field, xs, ys), len(xs), device)
    return on_span([xs, ys], major=(1, 0))


def _pixels(at: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], w: int,
            device: torch.device | str) -> Callable[[int, int], torch.Tensor]:
    """``at`` (column and row indices) as ``f(start, stop)`` over a row-major grid ``w`` wide."""
    def span(start: int, stop: int) -> torch.Tensor:
        idx = torch.arange(start, stop, device=device)
        return at(idx % w, idx // w)
    return span


def _to_levels(y: torch.Tensor, depth: int) -> np.ndarray:
    """Network outputs (centred on 0) as integers of ``depth`` bits: the float32 ops of ``_quantize``, in torch;
    non-finite outputs (a hostile file) are refused."""
    peak = (1 << depth) - 1
    v = (y + 0.5).float()
    if not bool(torch.isfinite(v).all()):
        finite_outputs(np.array([np.nan]))  # raises the one message for it
    return v.mul_(peak).round_().clamp_(0, peak).to(torch.int32).cpu().numpy()


@SIGNALS.register()
class ImageSignal(Signal):
    """A 2-D image; the network predicts pixel values minus 0.5 at (x, y)."""

    kind = "image"
    in_features = 2
    default_loss = "log10mse"
    # D'OH with the SIREN reference-code bound for B (sqrt(6) wider hidden weights than the supplement's eq. 16)
    # at lr 0.045 / latent: on 256x256 crops at 300 epochs +1.3 to +7.8 dB over the supplement's bound at its
    # best rate (docs/fitting.md, "D'OH init"); `--doh-init doh` keeps the supplement's.
    default_doh_init = "siren"
    band_cap = 0.25  # 2x decodes nearer bicubic's than at 0.5, and 1x BD-rate -0.7% (docs/resolution.md)
    default_lrs = {"doh": 0.045}  # D'OH with ``--optimizer adam`` (on the latent)
    default_optimizers = {"doh": "adam-weights"}  # latent >= half the weights (DOH.default_optimizer; docs/fitting.md)
    # decoded at 8 bits, D'OH +0.2..+0.7 dB, an MLP +0.5..+2.5 (docs/fitting.md, "D'OH's latent at its file's levels",
    # "An MLP's weights at its file's levels")
    depth_finetune = 0.05
    # 28x9 at 8 bits, six crops, 30 s: +2 to +3 dB at a lower rate (docs/rate.md, "Offsets from the seeded init")
    seeded_residual = {"mlp": 16, "doh": 7}  # MLP: +1.5..+3.3 dB at 8 bits, level at 16; D'OH: level at 8

    def __init__(self, pixels: np.ndarray, depth: int = 8, jitter: float = 0.0, jitter_share: float = 1.0,
                 jitter_epochs: tuple[int, int] | None = None) -> None:
        self.pixels, self.depth = pixels, depth  # (H, W, C) float32 in [0, 1]
        self.h, self.w, self.out_features = pixels.shape
        self.jitter = float(jitter)  # training samples moved up to +-jitter/2 pixel, targets interpolated
        if not 0.0 <= jitter_share <= 1.0:
            raise InputError(f"jitter_share must be a fraction in [0, 1], got {jitter_share}")
        self.jitter_share = float(jitter_share)  # of each epoch's samples, the share that is moved
        # [start, stop) in epochs, counted as calls of ``batches`` on this signal (so a fresh signal per fit); None: all
        self.jitter_epochs = jitter_epochs
        self._epoch = 0
        self._cache: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self._images: dict[str, torch.Tensor] = {}  # (1, C, H, W) per device, for jittered samples
        self._encoded: tuple[Callable[[torch.Tensor], torch.Tensor], torch.Tensor] | None = None  # (map, table)

    @classmethod
    def sniff(cls, path: Path) -> bool:
        return path.is_file() and path.suffix.lower() in SUFFIXES

    @classmethod
    def load(cls, path: Path, limits: Limits = DEFAULT_LIMITS, max_pixels: int | None = None, frame: int | None = None,
             **_: Any) -> "ImageSignal":
        """An image file; ``frame`` picks one frame of an animated image (read_image)."""
        return cls(*read_image(Path(path), limits.max_pixels if max_pixels is None else max_pixels, frame))

    @classmethod
    def from_array(cls, a: np.ndarray, limits: Limits = DEFAULT_LIMITS) -> "ImageSignal":
        """An image held in memory (``imageio.read_array``: uint8, uint16, or floats in [0, 1])."""
        return cls(*read_array(a, limits.max_pixels))

    def num_samples(self) -> int:
        return self.h * self.w

    def _data(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        key = str(device)
        if key not in self._cache:
            targets = torch.from_numpy(self.pixels.reshape(-1, self.out_features) - 0.5).to(device)
            self._cache[key] = (image_grid(self.h, self.w, device), targets)
        return self._cache[key]

    def batches(self, batch_size: int, generator: torch.Generator, device: torch.device) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self._pass(batch_size, generator, device, None)

    def encoded_batches(self, batch_size: int, generator: torch.Generator, device: torch.device,
                        encode: Callable[[torch.Tensor], torch.Tensor]) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The pixel grid's encoding is computed once per fit and its rows gathered: encoding every batch anew was
        4% of a D'OH 28x9 fit on a 256x256 crop (docs/fitting.md). Jittered epochs encode their batches."""
        return self._pass(batch_size, generator, device, encode)

    def _table(self, coords: torch.Tensor, encode: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor | None:
        """``encode`` of every pixel, kept while the same map asks for it on the same device; None above
        ``ENCODED_TABLE_BYTES`` (a large photograph: its batches are encoded one by one, as before)."""
        if self._encoded is not None and self._encoded[0] is encode and self._encoded[1].device == coords.device:
            return self._encoded[1]
        self._encoded = None  # another fit's map: free its table first
        row = encode(coords[:1])
        if coords.shape[0] * row.shape[-1] * row.element_size() > ENCODED_TABLE_BYTES:
            return None
        self._encoded = (encode, encode(coords))
        return self._encoded[1]

    def _pass(self, batch_size: int, generator: torch.Generator, device: torch.device,
              encode: Callable[[torch.Tensor], torch.Tensor] | None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch's batches, the inputs encoded by ``encode`` when it is given (from the table when it fits)."""
        coords, targets = self._data(device)
        table = self._table(coords, encode) if encode is not None else None
        per_batch = encode if encode is not None and table is None else None  # None: the inputs are final
        n = coords.shape[0]
        epoch, self._epoch = self._epoch, self._epoch + 1
        if batch_size >= n:
            inputs = coords if table is None else table
            yield (inputs if per_batch is None else per_batch(inputs)), targets
            return
        # One gather per epoch, then contiguous slices: the same batches as indexing per step, but 48
        # random 8192-row gathers cost 1.4 ms a step on CPU (7% of a 28x9 step; docs/fitting-speed.md).
        perm = torch.randperm(n, generator=generator).to(device)
        targets = targets.index_select(0, perm)
        start, stop = self.jitter_epochs or (0, math.inf)
        moved = round(self.jitter_share * n)
        if self.jitter > 0 and start <= epoch < stop and moved > 0:
            # the permutation makes the first ``moved`` rows a random subset; the rest stay at the pixel centres
            coords = coords.index_select(0, perm)
            part = self._jittered(coords[:moved], generator)
            inputs, targets = torch.cat([part[0], coords[moved:]]), torch.cat([part[1], targets[moved:]])
            per_batch = encode
        else:
            inputs = (table if table is not None else coords).index_select(0, perm)
        for s in range(0, n, batch_size):
            x = inputs[s:s + batch_size]
            yield (per_batch(x) if per_batch is not None else x), targets[s:s + batch_size]

    def _jittered(self, coords: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Samples moved by up to half ``jitter`` pixel, with the image's bicubic interpolation there as targets:
        the network is then fitted between the pixel centres too, not only at them (a 2x decode evaluates it
        there)."""
        step = torch.tensor([2.0 / max(self.w - 1, 1), 2.0 / max(self.h - 1, 1)], device=coords.device)
        shift = (torch.rand(coords.shape, generator=generator).to(coords.device) - 0.5) * self.jitter * step
        moved = (coords + shift).clamp_(-1.0, 1.0)
        image = self._image(coords.device)
        values = torch.nn.functional.grid_sample(image, moved.view(1, 1, -1, 2), mode="bicubic",
                                                 padding_mode="border", align_corners=True)
        return moved, values[0, :, 0].t().contiguous() - 0.5

    def _image(self, device: torch.device) -> torch.Tensor:
        key = str(device)
        if key not in self._images:
            self._images[key] = torch.from_numpy(np.ascontiguousarray(self.pixels.transpose(2, 0, 1)))[None].to(device)
        return self._images[key]

    def meta(self) -> Meta:
        return {"h": self.h, "w": self.w, "c": self.out_features, "depth": self.depth}

    def reference(self) -> np.ndarray:
        """The source as integers of its bit depth, what a decoded image is compared with."""
        return _quantize(self.pixels, self.depth)

    def evaluate(self, field: Field, device: torch.device | str = "cpu") -> dict[str, float]:
        rec = render_image(field, self.h, self.w, self.out_features, self.depth, device)
        return self.compare(rec)

    def compare(self, decoded: np.ndarray) -> dict[str, float]:
        peak = float((1 << self.depth) - 1)
        ref = self.reference().astype(np.float64) / peak
        dec = decoded.astype(np.float64) / peak
        return {"psnr": psnr(dec, ref), "ssim": ssim(dec, ref)}

    def sample_grid(self) -> tuple[int, ...]:
        return (self.w, self.h)  # input axes are (x, y)

    def rate_report(self, file_bytes: int, estimated_bytes: float) -> dict[str, float]:
        pixels = self.num_samples()
        return {"bpp": 8 * file_bytes / pixels, "estimated_bpp": 8 * estimated_bytes / pixels}

    def raw_bytes(self) -> int:
        return self.h * self.w * self.out_features * (2 if self.depth > 8 else 1)

    @classmethod
    def header_rate(cls, meta: Meta, file_bytes: int) -> dict[str, float]:
        return {"bpp": 8 * file_bytes / (meta["h"] * meta["w"])}

    @classmethod
    def validate_meta(cls, meta: Meta, limits: Limits) -> None:
        h, w, c, d = (meta.get(k) for k in ("h", "w", "c", "depth"))
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (h, w, c, d)) or c not in (1, 2, 3, 4) \
                or d not in (8, 16):
            raise FormatError("image header is missing or has invalid shape fields")
        if not (1 <= h and 1 <= w and h * w <= limits.max_pixels):
            raise FormatError(f"image header claims {w}x{h} pixels, over the limit of {limits.max_pixels} "
                              f"({limits.hint('max_pixels')} if you trust this file)")
        check_network(meta, cls.in_features, c)

    @classmethod
    def output_size(cls, meta: Meta, limits: Limits, scale: float = 1.0) -> tuple[int, int]:
        """(h, w) of a decode at ``scale``, refused before rendering if over the pixel or work limits."""
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale < float("inf"):
            raise InputError(f"scale {scale!r} is invalid; give a positive --scale, e.g. 2")
        h, w = max(1, round(meta["h"] * scale)), max(1, round(meta["w"] * scale))
        if h * w > limits.max_pixels:
            raise FormatError(f"decoding at {w}x{h} exceeds {limits.max_pixels} pixels; lower --scale or "
                              f"{limits.hint('max_pixels')}")
        check_work(meta, h * w, limits, "lower --scale")
        return h, w

    @classmethod
    def reconstruct(cls, meta: Meta, field: Field, limits: Limits = DEFAULT_LIMITS, scale: float = 1.0,
                    device: str = "cpu", progress: bool = False, **_: Any) -> np.ndarray:
        """The image at ``scale`` times its size (docs/resolution.md). Pixel centres follow the pixel-area
        convention of image resamplers, so a 2x decode lines up with a 2x bicubic upsampling. Above 1 the network
        is evaluated at the new pixel centres (it is defined between the samples it was fitted to, and the
        band-limited encoding keeps it smooth there); below 1 each pixel averages the area it covers (``sub`` x
        ``sub`` samples), like a box downscale, so thumbnails are not aliased."""
        h, w = cls.output_size(meta, limits, scale)
        sub = 1 if scale >= 1 else min(math.ceil(1 / scale), 64)
        if sub > 1:
            check_work(meta, h * w * sub * sub, limits, "lower --scale")
        source = None if (h, w) == (meta["h"], meta["w"]) else (meta["h"], meta["w"])
        return render_image(field, h, w, meta["c"], meta["depth"], device, source, sub, batch_rows(meta, _CHUNK),
                            progress)

    decode_options = ("scale",)
    formats = ("png", "npy", "tif", "tiff", "bmp", "webp", "ppm", "pgm", "tga", "jpg", "jpeg", "gif")

    @classmethod
    def check_format(cls, meta: Meta, fmt: str) -> str | None:
        """A 1x1 image of the file's channels and depth is written in ``fmt``: what cannot be written (alpha in a
        BMP) is refused before decoding; a 16-bit image in a format of 8 bits says so (the note returned)."""
        if fmt == "npy":
            return None
        c, depth = meta["c"], meta["depth"]
        write_pixels(np.zeros((1, 1, c), np.uint16 if depth > 8 else np.uint8), io.BytesIO(), fmt)
        wide = depth > 8 and fmt not in HOLDS_16.get(c, ())
        return f"written at 8 bits per sample: .{fmt} holds no more" if wide else None

    @classmethod
    def save(cls, output: np.ndarray, path: Path, meta: Meta) -> None:
        """``.npy``: the integer array; otherwise an image file by its suffix (16 bits where it holds them)."""
        path = Path(path)
        if path.suffix.lower() == ".npy":
            np.save(path, output, allow_pickle=False)
            return
        write_pixels(output, path, path.suffix.lower().lstrip("."))
