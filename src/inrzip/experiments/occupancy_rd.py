"""D'OH supplement, occupancy: Fig. 6 (IoU vs kB per architecture) and Table 2, as runner experiments.

    python -m inrzip.experiments occupancy-rd [--mesh MESH]     # Fig. 6: 4 archs x MLP / MLP+PE / D'OH x 4-16 bits
    python -m inrzip.experiments occupancy-table2               # Table 2 (occupancy_table.py), plus its plot

occupancy-rd: one fit per (architecture, method) on any closed mesh (default the Armadillo), written at every
bit depth by post-training minmax quantization; every row is a real ``.inr`` file decoded back (IoU of the
decoded N^3 grid against the ground truth, kB of the file, with the params x bits estimate beside it).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

from ..api import encode_bits
from ..errors import InputError
from ..signals.occupancy import OccupancySignal
from . import occupancy_table as t2
from .quant_common import save_figure, write_rows
from .runner import ArgParser, experiment, machine

__all__ = ["RD_METHODS", "RdSettings", "rd_rows", "plot_rd", "TEST_MESH"]

Row = dict[str, Any]
TEST_MESH = Path(__file__).resolve().parents[3] / "tests" / "data" / "bunny_decimated_5k_instantngp.obj"
ARCHS = ("20x4", "30x4", "28x9", "40x9")  # the supplement's four target MLPs (WIDTHxHIDDEN)
# Fig. 6's methods, as Table 2 models of a given architecture; D'OH's latent is 50% of the PE network's weights
RD_METHODS: dict[str, tuple[str, bool, float]] = {"mlp": ("mlp", False, 0.0), "mlp+pe": ("mlp", True, 0.0),
                                                  "doh": ("doh", True, 0.5)}


@dataclass
class RdSettings:
    """Fig. 6's sweep; the fit budget and learning rates are Table 2's (``occupancy_table.Settings``)."""

    mesh: str = str(t2.DATA / t2.SHAPES["armadillo"])
    archs: tuple[str, ...] = ARCHS
    methods: tuple[str, ...] = tuple(RD_METHODS)
    bits: tuple[int, ...] = (4, 5, 6, 8, 16)
    table: t2.Settings = field(default_factory=lambda: t2.Settings(time_budget=240.0))


def rd_rows(s: RdSettings, out: Path, log=print) -> list[Row]:
    """Every fit of the sweep; the CSV and plot are rewritten after each, so a cut run keeps its rows."""
    path = Path(s.mesh)
    if not path.is_file():
        raise InputError(f"{path} is missing; pass --mesh MESH (any closed mesh: OBJ, PLY, STL, OFF)")
    t0 = time.perf_counter()
    signal = OccupancySignal.load(path, resolution=s.table.resolution)
    log(f"{path.name}: ground truth {s.table.resolution}^3 in {time.perf_counter() - t0:.1f} s")
    rows: list[Row] = []
    for arch in s.archs:
        for method in s.methods:
            kind, pe, latent = RD_METHODS[method]
            model = t2.Model(kind, arch, pe, latent)
            for enc in encode_bits(signal, t2.compress_config(model, s.table), list(s.bits)):
                r = enc.report
                rows.append({"mesh": path.name, "arch": arch, "method": method, "bits": r["bits"],
                             "iou": r["iou"], "float_iou": r["float_iou"], "kB": r["file_bytes"] / 1000,
                             "est_kB": r["stored_values"] * r["bits"] / 8000, "params": r["stored_values"],
                             "resolution": s.table.resolution, "epochs": r["epochs"],
                             "fit_seconds": round(r["fit_seconds"], 1)})
            log(f"  {arch} {method}: " + ", ".join(f"{r['bits']}b IoU {r['iou']:.3f} {r['kB']:.2f} kB"
                                                    for r in rows[-len(s.bits):]))
            write_rows(rows, out / "occupancy-rd.csv", {"experiment": "occupancy-rd", **asdict(s), "machine": machine()})
            plot_rd(rows, out / "occupancy-rd.png")
    return rows


def plot_rd(rows: Sequence[Row], path: Path) -> None:
    """IoU vs real kB, one panel per architecture, one curve per method through its bit depths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    archs = list(dict.fromkeys(r["arch"] for r in rows))
    fig, axes = plt.subplots(1, len(archs), figsize=(3.4 * len(archs), 3.2), squeeze=False)
    for ax, arch in zip(axes[0], archs):
        for j, method in enumerate(dict.fromkeys(r["method"] for r in rows)):
            pts = sorted((r for r in rows if r["arch"] == arch and r["method"] == method), key=lambda r: r["bits"])
            ax.plot([p["kB"] for p in pts], [p["iou"] for p in pts], "o-", color=f"C{j}", label=method, ms=4)
            for p in pts:
                ax.annotate(str(p["bits"]), (p["kB"], p["iou"]), fontsize=6)
        ax.set_xscale("log")
        ax.set_xlabel("kB (real file)")
        ax.set_ylabel("IoU (decoded file)")
        ax.set_title(f"{arch} ({rows[0]['mesh']}, {rows[0]['resolution']}^3)", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    save_figure(fig, path)


# --quick: the same code on a 16^3 grid, two architectures, 15 epochs of 4 steps (larger lrs than Table 1's, so
# a few dozen steps already give a non-empty decode).
QUICK_TABLE = t2.Settings(resolution=16, epochs=15, time_budget=None, batch_size=1024, lr_mlp=1e-3, lr_doh=1e-5,
                          engine="fast")


@experiment("occupancy-rd", "D'OH supp. Fig. 6: occupancy IoU vs kB per architecture (MLP / MLP+PE / D'OH x bits), "
                            "--mesh MESH for any closed mesh")
def run_rd(quick: bool, out: Path, argv: Sequence[str]) -> list[Row]:
    d = RdSettings(mesh=str(TEST_MESH), archs=("20x4", "28x9"), bits=(4, 8), table=QUICK_TABLE) if quick else RdSettings()
    p = ArgParser(prog="python -m inrzip.experiments occupancy-rd")
    p.add_argument("--mesh", default=d.mesh, help="any closed mesh (OBJ, PLY, STL, OFF; default the Armadillo)")
    p.add_argument("--archs", nargs="+", default=list(d.archs))
    p.add_argument("--methods", nargs="+", default=list(d.methods), choices=list(RD_METHODS))
    p.add_argument("--bits", nargs="+", type=int, default=list(d.bits))
    p.add_argument("--resolution", type=int, default=d.table.resolution)
    p.add_argument("--time-budget", type=float, default=d.table.time_budget, help="fit seconds (0: epochs only)")
    a = p.parse_args(list(argv))
    table = replace(d.table, resolution=a.resolution, time_budget=a.time_budget or None)
    s = RdSettings(mesh=a.mesh, archs=tuple(a.archs), methods=tuple(a.methods), bits=tuple(a.bits), table=table)
    return rd_rows(s, out, log=lambda m: print(m, flush=True))


def plot_table2(rows: Sequence[Row], path: Path) -> None:
    """Table 2 as bars: measured IoU per model and bit depth, the published value as a tick."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shapes = list(dict.fromkeys(r["shape"] for r in rows))
    fig, axes = plt.subplots(1, len(shapes), figsize=(5.5 * len(shapes), 3.6), squeeze=False)
    for ax, shape in zip(axes[0], shapes):
        sel = [r for r in rows if r["shape"] == shape]
        models, bits = list(dict.fromkeys(r["model"] for r in sel)), sorted({r["bits"] for r in sel})
        width = 0.8 / len(bits)
        for j, b in enumerate(bits):
            cells = {r["model"]: r for r in sel if r["bits"] == b}
            xs = [i + j * width for i in range(len(models))]
            ax.bar(xs, [cells[m]["iou"] if m in cells else 0 for m in models], width, label=f"{b} bits")
            paper = [(x, cells[m]["paper_iou"]) for x, m in zip(xs, models) if m in cells and cells[m]["paper_iou"]]
            ax.plot([x for x, _ in paper], [v for _, v in paper], "k_", ms=10)
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(models))], models, rotation=30, ha="right", fontsize=7)
        ax.set_ylabel("IoU (decoded file); - = paper")
        ax.set_title(f"{shape}, {sel[0]['resolution']}^3", fontsize=8)
        ax.legend(fontsize=7)
    save_figure(fig, path)


@experiment("occupancy-table2", "D'OH supp. Table 2: occupancy IoU and memory of MLP, MLP+PE and D'OH 30/60/100% "
                                "at 4, 5, 6, 8, 16 bits (Armadillo, Dragon)")
def run_table2(quick: bool, out: Path, argv: Sequence[str]) -> list[Row]:
    d = replace(QUICK_TABLE, shapes=("bunny",), models=("MLP (4,20)", "DOH (4,20)"), bits=(6, 8),
                data_dir=str(TEST_MESH.parent)) if quick else t2.Settings()
    p = ArgParser(prog="python -m inrzip.experiments occupancy-table2")
    p.add_argument("--shapes", nargs="+", default=list(d.shapes), choices=sorted(t2.SHAPES))
    p.add_argument("--models", nargs="+", default=list(d.models), choices=list(t2.MODELS))
    p.add_argument("--resolution", type=int, default=d.resolution)
    p.add_argument("--bits", nargs="+", type=int, default=list(d.bits))
    p.add_argument("--time-budget", type=float, default=d.time_budget, help="fit seconds per model (0: epochs only)")
    a = p.parse_args(list(argv))
    s = replace(d, shapes=tuple(a.shapes), models=tuple(a.models), resolution=a.resolution, bits=tuple(a.bits),
                time_budget=a.time_budget or None)
    rows = t2.run(s, out, log=lambda m: print(m, flush=True))
    plot_table2(rows, out / "table2.png")
    return rows
