"""D'OH supplement, images: PSNR vs bpp of D'OH against the MLP (and MLP+PE) over its four target networks.

    python -m inrzip.experiments doh-kodak-archs      # Fig. 5: 8 Kodak images x 20x4/30x4/28x9/40x9 x D'OH/MLP/MLP+PE
    python -m inrzip.experiments doh-div2k            # the DIV2K protocol: 3 downscaled DIV2K images, D'OH vs MLP

One fit per (image, method, architecture), written at every bit depth (4, 5, 6, 8, 16) by post-training
minmax quantization, as the supplement does. Writes ``NAME.csv`` (per image), ``NAME_mean.csv`` (mean over
images), ``NAME.json`` and ``NAME.png`` (mean PSNR vs mean bpp, one curve per method and architecture).
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Sequence

from .image_common import DIV2K, KODAK_SUBSET, METHODS, Budget, Protocol, fit_protocol, plot_rd
from .quant_common import mean_rows, write_rows
from .runner import ArgParser, experiment, machine

__all__ = ["Protocol", "run_protocol", "PROTOCOLS"]


PROTOCOLS: dict[str, Protocol] = {
    "doh-kodak-archs": Protocol("kodak", KODAK_SUBSET),
    "doh-div2k": Protocol("div2k", DIV2K, methods=("doh", "mlp")),
}
QUICK = {"images": 1, "archs": ("20x4", "28x9"), "bits": (4, 8), "budget": Budget(epochs=2, seconds=None, crop=24)}


def run_protocol(name: str, p: Protocol, out: Path, log=print, jobs: int = 1) -> list[dict]:
    """Every fit of ``p``, ``jobs`` processes at a time (one thread each); the tables and the plot are rewritten
    after each fit, so a cut run keeps its rows. Rows are in task order whatever order the fits end in."""
    return fit_protocol(p, lambda rows: _save(name, p, rows, out), log, jobs)


def _save(name: str, p: Protocol, rows: list[dict], out: Path) -> None:
    write_rows(rows, out / f"{name}.csv", {"experiment": name, "protocol": asdict(p), "machine": machine(),
                                           "quantizer": "minmax (post-training)"})
    means = mean_rows(rows, ("method", "arch", "bits"), ("psnr", "ssim", "bpp", "estimated_bpp", "float_psnr"))
    write_rows(means, out / f"{name}_mean.csv")
    images = sorted({r["image"] for r in rows})
    plot_rd(means, out / f"{name}.png", f"{name}: mean over {len(images)} {p.dataset} image(s), "
            f"{p.budget.seconds or '-'} s / {p.budget.epochs} epochs per fit")


def _parser(name: str, p: Protocol) -> ArgParser:
    a = ArgParser(prog=f"python -m inrzip.experiments {name}")
    a.add_argument("--images", nargs="+", default=list(p.images))
    a.add_argument("--archs", nargs="+", default=list(p.archs))
    a.add_argument("--methods", nargs="+", default=list(p.methods), choices=list(METHODS))
    a.add_argument("--bits", nargs="+", type=int, default=list(p.bits))
    a.add_argument("--seconds", type=float, default=p.budget.seconds, help="fitting seconds per fit (0: epochs only)")
    a.add_argument("--epochs", type=int, default=p.budget.epochs)
    a.add_argument("--jobs", type=int, default=1, help="fits at a time, each in its own process at one thread")
    return a


def _register(name: str, help: str) -> None:
    def run(quick: bool, out: Path, argv: Sequence[str]) -> list[dict]:
        p = PROTOCOLS[name]
        if quick:
            p = replace(p, images=p.images[:QUICK["images"]], archs=QUICK["archs"], bits=QUICK["bits"],
                        budget=QUICK["budget"])
        a = _parser(name, p).parse_args(list(argv))
        p = replace(p, images=tuple(a.images), archs=tuple(a.archs), methods=tuple(a.methods), bits=tuple(a.bits),
                    budget=replace(p.budget, seconds=a.seconds or None, epochs=a.epochs))
        return run_protocol(name, p, out, log=lambda m: print(m, flush=True), jobs=a.jobs)
    experiment(name, help)(run)


_register("doh-kodak-archs", "D'OH supp. Fig. 5: Kodak (8-image subset) PSNR vs bpp, D'OH / MLP / MLP+PE x 4 archs x bits")
_register("doh-div2k", "D'OH supp. DIV2K protocol: PSNR vs bpp, D'OH vs MLP x 4 archs x bits 4-16")
