"""D'OH supplement Figs 7 and 8 (qualitative): decoded Kodak crops and rendered meshes, side by side.

    python -m inrzip.experiments figures-kodak      # Fig. 7: original | MLP | D'OH | JPEG at D'OH's rate, 2 images
    python -m inrzip.experiments figures-meshes     # Fig. 8: ground truth | MLP+PE | D'OH, ray-cast renders

figures-kodak fits each image (MLP without PE, D'OH with PE, the same target network), writes both as real
``.inr`` files at one bit depth and decodes them; JPEG (Pillow) takes the quality whose file is nearest D'OH's
size. The PNG shows a centre crop of each decode. figures-meshes fits occupancy networks, decodes their grids,
meshes them by marching cubes and renders ground truth and decodes with ``render_mesh`` (real ray casting, no
OpenGL renderer is installed here). Both write a CSV of what each panel shows (rate, PSNR or IoU) and a JSON.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..api import decode, encode_bits, write
from ..errors import InputError
from ..metrics import psnr
from ..signals import meshio
from ..signals.occupancy import OccupancySignal
from . import occupancy_table as t2
from .image_common import METHODS, Budget, fit_image, load_named
from .occupancy_rd import QUICK_TABLE, TEST_MESH
from .quant_common import save_figure, write_rows
from .render_mesh import View, render
from .runner import ArgParser, experiment, machine

__all__ = ["KodakFigure", "MeshFigure", "jpeg_near", "kodak_figure", "mesh_figure"]

Row = dict[str, Any]


def jpeg_near(pixels: np.ndarray, target_bytes: int) -> tuple[int, bytes]:
    """(quality, JPEG bytes) of the Pillow JPEG whose size is nearest ``target_bytes``; pixels uint8 (H, W, 3)."""
    from PIL import Image

    best: tuple[int, int, bytes] | None = None
    for q in range(1, 96):
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, "JPEG", quality=q)
        data = buf.getvalue()
        if best is None or abs(len(data) - target_bytes) < best[0]:
            best = (abs(len(data) - target_bytes), q, data)
    assert best is not None
    return best[1], best[2]


def _jpeg_decode(data: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


@dataclass(frozen=True)
class KodakFigure:
    images: tuple[str, ...] = ("kodim23", "kodim05")
    arch: str = "28x9"
    bits: int = 8
    budget: Budget = Budget(epochs=300, seconds=120.0)
    show: int = 192  # side of the centre crop shown


def kodak_figure(s: KodakFigure, out: Path, log=print) -> list[Row]:
    rows: list[Row] = []
    panels: list[list[tuple[str, np.ndarray]]] = []
    for image, signal in load_named("kodak", s.images, s.budget.crop):
        ref = signal.reference()
        h, w = ref.shape[:2]
        line = [("original", ref)]
        for label in ("mlp", "doh"):
            enc = write(fit_image(signal, METHODS[label], s.arch, s.budget), s.bits, "minmax")
            dec = decode(enc.data)[1]
            rows.append({"image": image, "method": label, "arch": s.arch, "bits": s.bits, "bytes": len(enc.data),
                         "bpp": 8 * len(enc.data) / (h * w), "psnr": psnr(dec / 255.0, ref / 255.0)})
            line.append((f"{label.upper()} {rows[-1]['bpp']:.2f} bpp {rows[-1]['psnr']:.1f} dB", dec))
        quality, data = jpeg_near(ref, rows[-1]["bytes"])
        dec = _jpeg_decode(data)
        rows.append({"image": image, "method": "jpeg", "arch": "", "bits": quality, "bytes": len(data),
                     "bpp": 8 * len(data) / (h * w), "psnr": psnr(dec / 255.0, ref / 255.0)})
        line.append((f"JPEG q{quality} {rows[-1]['bpp']:.2f} bpp {rows[-1]['psnr']:.1f} dB", dec))
        log(f"{image}: " + ", ".join(f"{r['method']} {r['bpp']:.3f} bpp {r['psnr']:.2f} dB" for r in rows[-3:]))
        panels.append([(t, _centre(img, s.show)) for t, img in line])
    write_rows(rows, out / "figures-kodak.csv", {"experiment": "figures-kodak", **asdict(s), "machine": machine(),
                                                 "jpeg": "Pillow, quality nearest D'OH's file size"})
    _grid(panels, [r for r in s.images], out / "figures-kodak.png")
    return rows


def _centre(img: np.ndarray, side: int) -> np.ndarray:
    h, w = img.shape[:2]
    side = min(side, h, w)
    return img[(h - side) // 2:(h - side) // 2 + side, (w - side) // 2:(w - side) // 2 + side]


def _grid(panels: list[list[tuple[str, np.ndarray]]], names: Sequence[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, cols = len(panels), max(len(p) for p in panels)
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.8 * rows), squeeze=False)
    for r, (line, name) in enumerate(zip(panels, names)):
        for c, (title, img) in enumerate(line):
            axes[r][c].imshow(img, interpolation="nearest")
            axes[r][c].set_title(f"{name}: {title}" if c == 0 else title, fontsize=7)
            axes[r][c].axis("off")
    save_figure(fig, path)


@dataclass
class MeshFigure:
    mesh: str = str(t2.DATA / t2.SHAPES["armadillo"])
    models: tuple[str, ...] = ("MLP+PE (9,40)", "DOH (60%)")
    bits: int = 8
    view: View = View()
    table: t2.Settings = field(default_factory=lambda: t2.Settings(resolution=128, time_budget=300.0))


def mesh_figure(s: MeshFigure, out: Path, log=print) -> list[Row]:
    path = Path(s.mesh)
    if not path.is_file():
        raise InputError(f"{path} is missing; pass --mesh MESH (any closed mesh)")
    truth = meshio.load_mesh(path)
    frame = (truth.bounds.mean(0), float(np.ptp(truth.bounds, 0).max()) * 0.55)
    signal = OccupancySignal.load(path, resolution=s.table.resolution)
    panels = [("ground truth", render(truth, s.view, frame))]
    rows: list[Row] = [{"mesh": path.name, "model": "ground truth", "bits": "", "kB": path.stat().st_size / 1000,
                        "iou": 1.0, "faces": len(truth.faces)}]
    for name in s.models:
        enc = encode_bits(signal, t2.compress_config(t2.MODELS[name], s.table), [s.bits])[0]
        grid = decode(enc.data)[1]
        try:
            decoded = meshio.grid_to_mesh(grid, signal.norm)
            img, faces = render(decoded, s.view, frame), len(decoded.faces)
        except InputError:  # an empty decode: nothing to mesh, shown as a blank panel
            img, faces = np.ones((s.view.size, s.view.size, 3)), 0
        r = enc.report
        rows.append({"mesh": path.name, "model": name, "bits": s.bits, "kB": r["file_bytes"] / 1000, "iou": r["iou"],
                     "faces": faces})
        panels.append((f"{name}, {s.bits} bits: {rows[-1]['kB']:.2f} kB, IoU {r['iou']:.3f}", img))
        log(f"{name}: IoU {r['iou']:.4f}, {rows[-1]['kB']:.2f} kB, {faces} faces")
    write_rows(rows, out / "figures-meshes.csv", {"experiment": "figures-meshes", **asdict(s), "machine": machine(),
                                                  "renderer": "trimesh ray casting (render_mesh.py), orthographic"})
    _grid([panels], [path.stem], out / "figures-meshes.png")
    return rows


@experiment("figures-kodak", "D'OH supp. Fig. 7: decoded Kodak crops, original | MLP | D'OH | JPEG at D'OH's size")
def run_kodak(quick: bool, out: Path, argv: Sequence[str]) -> list[Row]:
    d = KodakFigure(images=("kodim23",), arch="20x4", budget=Budget(epochs=2, seconds=None, crop=32)) if quick \
        else KodakFigure()
    p = ArgParser(prog="python -m inrzip.experiments figures-kodak")
    p.add_argument("--images", nargs="+", default=list(d.images))
    p.add_argument("--arch", default=d.arch)
    p.add_argument("--bits", type=int, default=d.bits)
    p.add_argument("--seconds", type=float, default=d.budget.seconds, help="fitting seconds per fit (0: epochs only)")
    a = p.parse_args(list(argv))
    s = replace(d, images=tuple(a.images), arch=a.arch, bits=a.bits, budget=replace(d.budget, seconds=a.seconds or None))
    return kodak_figure(s, out, log=lambda m: print(m, flush=True))


@experiment("figures-meshes", "D'OH supp. Fig. 8: ground truth | MLP+PE | D'OH meshes, decoded, marching cubes, "
                              "ray-cast renders (--mesh MESH)")
def run_meshes(quick: bool, out: Path, argv: Sequence[str]) -> list[Row]:
    d = MeshFigure(mesh=str(TEST_MESH), models=("MLP (4,20)", "DOH (4,20)"), view=View(size=96),
                   table=QUICK_TABLE) if quick else MeshFigure()
    p = ArgParser(prog="python -m inrzip.experiments figures-meshes")
    p.add_argument("--mesh", default=d.mesh, help="any closed mesh (default the Armadillo)")
    p.add_argument("--models", nargs="+", default=list(d.models), choices=list(t2.MODELS))
    p.add_argument("--bits", type=int, default=d.bits)
    p.add_argument("--resolution", type=int, default=d.table.resolution)
    p.add_argument("--size", type=int, default=d.view.size, help="rendered image side in pixels")
    a = p.parse_args(list(argv))
    s = replace(d, mesh=a.mesh, models=tuple(a.models), bits=a.bits, view=replace(d.view, size=a.size),
                table=replace(d.table, resolution=a.resolution))
    return mesh_figure(s, out, log=lambda m: print(m, flush=True))
