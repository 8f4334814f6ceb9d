"""Supplement Figures 5/6 rows on one scene: 4x64 ReLU+PE NeRF networks, four quantizers at 3 bits, PTQ and QAT.

    python -m inrzip.experiments nerf-blender      # lego, 100x100, coarse + fine pair (32 + 64 samples)
    python -m inrzip.experiments nerf-llff         # fern, 100x75, the same
    python -m inrzip.experiments.nerf_quant --scene llff_fern --time-budget 300 --networks 1

One float fit (``--time-budget`` seconds on CPU); post-training quantization writes one ``.inr`` per
quantizer from it; QAT continues a copy of the float network for ``--qat-seconds`` with each quantizer
in the loop (straight-through) and stores the tables training saw. Every row is a real file decoded
back: PSNR/SSIM are the mean over the held-out views rendered from the decoded bytes, kB = file bytes
/ 1000. Writes ``<scene>.csv`` / ``.json`` (settings) / ``.md`` (ours beside the paper's means), the
``.inr`` files and a figure of the first held-out view under ``--out``.
"""

from __future__ import annotations

import argparse
import copy
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ..api import field_of, info, write
from ..bitstream.pipeline import unpack
from ..config import FitConfig
from ..signals.radiance import RadianceSignal
from .quant_common import DATA_ROOT, QUANTIZER_ORDER, Fitted, continue_fit, fit_network, save_figure, write_rows
from .runner import ArgParser, experiment, machine

__all__ = ["Settings", "PAPER_MEANS", "PAPER_LEGO", "run", "main", "QUICK", "qat_continuation"]

TEST_SCENES = Path(__file__).resolve().parents[3] / "tests" / "data" / "nerf"

Row = dict[str, Any]

# Supplement Figures 5/6 (3 bits, 4 hidden layers of 64): means over 8 Blender / 7 LLFF scenes, (PSNR dB, kB).
PAPER_MEANS: dict[str, dict[str, tuple[float, float]]] = {
    "blender": {"kmeans": (24.64, 15.8), "distributional": (22.62, 13.3), "minmax": (22.81, 11.2), "explicit": (23.73, 14.5)},
    "llff": {"kmeans": (18.63, 15.5), "distributional": (17.52, 13.3), "minmax": (17.49, 11.3), "explicit": (18.59, 16.1)},
}
# Row 5 of Figure 5's unlabelled table, lego if the rows follow NeRF's scene order (docs/nerf.md).
PAPER_LEGO: dict[str, tuple[float, float]] = {"kmeans": (27.52, 15.5), "minmax": (25.60, 11.5)}


@dataclass
class Settings:
    """One run; saved as JSON beside the results so every number can be regenerated."""

    scene: str = "blender_lego"  # folder under ../shared/data/nerf, or a path
    size: int = 100  # longest image side
    arch: str = "64x4"  # the supplement's 4 hidden layers of 64 (WIDTHxHIDDEN)
    samples: int = 32  # stratified (coarse) samples per ray (NeRF: 64)
    fine: int = 64  # importance samples per ray (NeRF: 128), placed by the coarse network's weights
    networks: int = 2  # 2: NeRF's coarse + fine pair, both stored; 1: one network for both passes
    bits: int = 3
    quantizers: tuple[str, ...] = QUANTIZER_ORDER
    time_budget: float = 900.0  # float fit, seconds
    epochs: int = 1000  # cap; an epoch is ``rays_per_epoch`` rays
    rays_per_epoch: int = 1 << 16
    batch_size: int = 512  # rays per step
    lr: float = 2e-3
    final_lr: float = 0.98 ** 60  # LR at the end of the float fit / at its start, whatever the epochs (see _fit_config)
    qat: bool = True
    qat_seconds: float = 150.0
    qat_lr: float = 5e-4
    threads: int = 1
    seed: int = 0
    out: Path = field(default_factory=lambda: Path("results/nerf"))
    name: str = ""  # file stem of the CSV / JSON / PNG / MD (default: the scene folder's name)

    def scene_path(self) -> Path:
        p = Path(self.scene)
        return p if p.is_dir() else DATA_ROOT / "nerf" / self.scene


def _fit_config(s: Settings) -> FitConfig:
    """The float fit. The schedule decays by progress over the planned run (fit/schedules.py), so a per-epoch
    0.98 against the 1000-epoch cap had the rate at 0.98^100 = 0.13 of its start a tenth into the budget and
    0.98^260 = 0.005 at epoch 9 of a 1500 s fit's 35, where its loss stopped falling; the final fraction is
    what is set."""
    gamma = s.final_lr ** (1.0 / max(s.epochs, 1))
    return FitConfig(epochs=s.epochs, batch_size=s.batch_size, lr=s.lr, betas=(0.9, 0.999), gamma=gamma,
                     time_budget=s.time_budget, progress=True, engine="reference", threads=s.threads)


def first_view(data: bytes) -> np.ndarray:
    """The first held-out view of an .inr file, rendered alone (for figures; a full decode renders them all)."""
    header = info(data)
    width = {"lookat": 3, "matrix": 12}[header["pose_kind"]]
    header["test_poses"] = header["test_poses"][:width]
    _, spec, layers = unpack(data)
    return RadianceSignal.reconstruct(header, field_of(spec, layers), progress=False)[0]


def _write(f: Fitted, quantizer: str, bits: int, path: Path) -> tuple[Row, np.ndarray]:
    """Write ``f`` as an .inr file (``api.write``: decoded and scored on the held-out views) and render its
    first held-out view for the figure."""
    enc = write(f, bits, quantizer)
    enc.save(path)
    r, sizes = enc.report, enc.sizes
    row = {"quantizer": quantizer, "bits": bits, "psnr": r["psnr"], "ssim": r["ssim"],
           "float_psnr": f.float_metrics.get("psnr", float("nan")), "kB": sizes.file_bytes / 1000,
           "file_bytes": sizes.file_bytes, "header_bytes": sizes.header_bytes, "code_bytes": sizes.code_bytes,
           "side_bytes": sizes.side_bytes, "params": r["target_params"], "stored_values": r["stored_values"],
           "networks": info(enc.data).get("networks", 1), "fit_seconds": round(f.result.seconds, 1),
           "epochs": f.result.epochs, "file": str(path)}
    return row, first_view(enc.data)


def qat_continuation(f: Fitted, quantizer: str, s: Settings) -> Fitted:
    """A copy of the float fit trained on with QAT for ``s.qat_seconds``, QAT from its first step: the float
    phase was the fit itself. (``qat_start`` must be said: NeRF's default, 0.8, would train 80% of the
    continuation in float, and the guard of that time then restored the float state at the end.)"""
    g = replace(f, param=copy.deepcopy(f.param))
    return continue_fit(g, replace(_fit_config(s), qat_quantizer=quantizer, qat_bits=s.bits, lr=s.qat_lr,
                                   time_budget=s.qat_seconds, gamma=1.0, qat_start=0.0), score=False)


def run(s: Settings) -> list[Row]:
    """Fit once, write PTQ (and QAT) files for every quantizer; returns the rows (also written to disk)."""
    s.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(s.threads)  # rendering too: one thread beats two on a busy 2-core machine
    name = s.name or s.scene_path().name
    signal = RadianceSignal.load(s.scene_path(), size=s.size, samples=s.samples, fine=s.fine,
                                 rays_per_epoch=s.rays_per_epoch, networks=s.networks, progress=False)
    t0 = time.perf_counter()
    f = fit_network(signal, s.arch, "relu", _fit_config(s), seed=s.seed)
    print(f"float fit: {f.result.epochs} epochs ({f.result.epochs * signal.num_samples()} rays) in "
          f"{f.result.seconds:.0f} s; held-out PSNR {f.float_metrics['psnr']:.2f} dB, SSIM {f.float_metrics['ssim']:.3f}")
    rows, images = [], {"ground truth": signal.scene.splits["test"].images[0]}
    for q in s.quantizers:
        row, img = _write(f, q, s.bits, s.out / f"{name}_{q}_{s.bits}bit_ptq.inr")
        rows.append({"scene": name, "mode": "ptq", **row})
        images[f"{q} PTQ"] = img
        _report(rows, s, name)
    for q in s.quantizers if s.qat else ():
        g = qat_continuation(f, q, s)
        row, img = _write(g, q, s.bits, s.out / f"{name}_{q}_{s.bits}bit_qat.inr")
        rows.append({"scene": name, "mode": "qat", **row})
        images[f"{q} QAT"] = img
        _report(rows, s, name)
    _figure(images, s.out / f"{name}.png")
    print(f"done in {time.perf_counter() - t0:.0f} s; results in {s.out}")
    return rows


def _report(rows: list[Row], s: Settings, name: str) -> None:
    """CSV + settings JSON + a markdown table beside the paper's means; rewritten after every file."""
    write_rows(rows, s.out / f"{name}.csv", {**asdict(s), "out": str(s.out), "machine": machine()})
    llff = (s.scene_path() / "poses_bounds.npy").is_file()
    paper = PAPER_MEANS["llff" if llff else "blender"]
    lego = {} if llff or "lego" not in s.scene_path().name else PAPER_LEGO
    lines = [f"{s.scene_path().name}, {s.size}px views, {s.samples} coarse + {s.fine} fine samples per ray, "
             f"{s.networks} network(s) stored, {s.bits} bits", "",
             "| quantizer | mode | PSNR dB | SSIM | kB | paper mean PSNR dB / kB | paper lego row |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        p, pl = paper.get(r["quantizer"]), lego.get(r["quantizer"])
        ref = f"{p[0]:.2f} / {p[1]:.1f}" if p else ""
        ref_lego = f"{pl[0]:.2f} / {pl[1]:.1f}" if pl else ""
        lines.append(f"| {r['quantizer']} | {r['mode'].upper()} | {r['psnr']:.2f} | {r['ssim']:.3f} | {r['kB']:.2f} "
                     f"| {ref} | {ref_lego} |")
    lines.append(f"\nfloat network: {rows[0]['float_psnr']:.2f} dB after {rows[0]['epochs']} epochs "
                 f"({rows[0]['fit_seconds']:.0f} s)")
    (s.out / f"{name}.md").write_text("\n".join(lines) + "\n")
    print(lines[-2], flush=True)  # the newest row


def _figure(images: dict[str, np.ndarray], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(images), figsize=(1.8 * len(images), 2.1))
    for ax, (title, img) in zip(np.atleast_1d(axes), images.items()):
        ax.imshow(np.clip(img, 0, 1))
        ax.set_title(title, fontsize=7)
        ax.axis("off")
    save_figure(fig, path)


def _parser(d: Settings, prog: str = "python -m inrzip.experiments.nerf_quant", out: bool = True
            ) -> argparse.ArgumentParser:
    p = (argparse.ArgumentParser if out else ArgParser)(prog=prog, description=__doc__.split("\n")[0])
    p.add_argument("--scene", default=d.scene, help="blender_lego, llff_fern or a scene folder")
    p.add_argument("--size", type=int, default=d.size, help=f"longest image side (default {d.size})")
    p.add_argument("--arch", default=d.arch)
    p.add_argument("--samples", type=int, default=d.samples, help="coarse samples per ray")
    p.add_argument("--fine", type=int, default=d.fine, help="importance samples per ray")
    p.add_argument("--networks", type=int, default=d.networks, choices=(1, 2), help="2: coarse + fine pair")
    p.add_argument("--bits", type=int, default=d.bits)
    p.add_argument("--quantizers", default=",".join(d.quantizers))
    p.add_argument("--time-budget", type=float, default=d.time_budget, help="float fit seconds")
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--rays-per-epoch", type=int, default=d.rays_per_epoch)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--final-lr", type=float, default=d.final_lr, help="LR at the end of the float fit, as a "
                   f"fraction of --lr (default {d.final_lr:.3g})")
    p.add_argument("--no-qat", dest="qat", action="store_false")
    p.add_argument("--qat-seconds", type=float, default=d.qat_seconds)
    p.add_argument("--qat-lr", type=float, default=d.qat_lr)
    p.add_argument("--threads", type=int, default=d.threads)
    p.add_argument("--seed", type=int, default=d.seed)
    if out:
        p.add_argument("--out", type=Path, default=d.out)
    return p


def _settings(args: argparse.Namespace, **fixed: object) -> Settings:
    a = {**vars(args), **fixed}
    a["quantizers"] = tuple(q.strip() for q in a["quantizers"].split(",") if q.strip())
    return Settings(**a)


def main(argv: Sequence[str] | None = None) -> int:
    run(_settings(_parser(Settings()).parse_args(argv)))
    return 0


# --quick: the same pipeline on the tiny test scenes (2 held-out views), a few thousand rays.
QUICK: dict[str, object] = {"size": 20, "samples": 8, "fine": 8, "time_budget": 60.0, "epochs": 2,
                            "rays_per_epoch": 1024, "batch_size": 256, "qat_seconds": 20.0}


def _scene_experiment(name: str, scene: str, tiny: str) -> None:
    def run_scene(quick: bool, out: Path, argv: Sequence[str]) -> list[Row]:
        d = Settings(scene=scene)
        if quick:
            d = replace(d, scene=str(TEST_SCENES / tiny), **QUICK)  # type: ignore[arg-type]
        args = _parser(d, f"python -m inrzip.experiments {name}", out=False).parse_args(list(argv))
        return run(_settings(args, out=out, name=name))
    experiment(name, f"seed 000 Figs 5/6: {scene}, 4x64 NeRF (coarse + fine), 4 quantizers at 3 bits, PTQ + QAT"
               )(run_scene)


_scene_experiment("nerf-blender", "blender_lego", "blender_lego_tiny")
_scene_experiment("nerf-llff", "llff_fern", "llff_fern_tiny")


if __name__ == "__main__":
    raise SystemExit(main())
