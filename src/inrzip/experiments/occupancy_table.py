"""D'OH Table 2: binary occupancy IoU and memory of MLP, MLP+PE and D'OH 30/60/100% networks.

    python -m inrzip.experiments.occupancy_table                      # Armadillo + Dragon, 128^3, CPU budget
    python -m inrzip.experiments.occupancy_table --shapes armadillo --models "DOH (60%)" --time-budget 600

One fit per (shape, model); post-training quantization writes every bit depth from it (6 and 8 bits as
in Table 2; 16 bits = "COIN"). Every row is a real ``.inr`` file decoded back (IoU of the decoded grid on
the full N^3 grid), with the paper's ``params x bits`` estimate beside the real file size. Writes
``table2.csv`` (one row per shape, model and bit depth), ``table2.md`` (measured vs published) and
``table2.json`` (the settings) under ``--out``, updated after every fit so a cut-short run keeps its rows.
The Thai Statue is not available (no public copy small enough, ``shared/data/meshes/SOURCES.md``).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

from ..api import CompressConfig, Encoded, decode, encode_bits
from ..bench.plot import safe_name
from ..config import FitConfig
from ..nets.networks import NetworkSpec, parse_arch, weight_count
from ..signals.occupancy import OccupancySignal

__all__ = ["Model", "MODELS", "SHAPES", "PAPER_IOU", "Settings", "compress_config", "run", "main", "DATA"]

DATA = Path(__file__).resolve().parents[4] / "shared" / "data" / "meshes"
SHAPES = {
    "armadillo": "armadillo_decimated_100k_instantngp.obj",  # watertight, 100k faces
    "dragon": "dragon_decimated_100k_euclid.ply",  # 100k faces, has holes (winding numbers handle them)
    "bunny": "bunny_decimated_5k_instantngp.obj",  # not in Table 2: small, for smoke runs and tests
}


@dataclass(frozen=True)
class Model:
    """One row of Table 2: how the network is parameterized and stored."""

    parameterization: str  # "mlp" | "doh"
    arch: str  # WIDTHxHIDDEN
    pe: bool
    latent_fraction: float = 0.0  # D'OH latent / weight count of the PE target network (biases excluded)

    def latent_dim(self) -> int | None:
        if self.parameterization != "doh":
            return None
        width, hidden = parse_arch(self.arch)
        target = NetworkSpec(3, 1, width, hidden, pe_freqs=10 if self.pe else 0)
        return int(round(self.latent_fraction * weight_count(target)))


# The paper's "DOH 30/60/100%" are stored parameters relative to MLP(9,40) without PE (4641 / 8881 /
# 14961 of 14961): latents of 25% / 50% / 85.85% of the PE 40x9 network's 16960 weights, plus 401 biases.
MODELS: dict[str, Model] = {
    "MLP (4,20)": Model("mlp", "20x4", False),
    "MLP (4,30)": Model("mlp", "30x4", False),
    "MLP (9,28)": Model("mlp", "28x9", False),
    "MLP (9,40)": Model("mlp", "40x9", False),
    "MLP+PE (4,20)": Model("mlp", "20x4", True),
    "MLP+PE (4,30)": Model("mlp", "30x4", True),
    "MLP+PE (9,28)": Model("mlp", "28x9", True),
    "MLP+PE (9,40)": Model("mlp", "40x9", True),
    "DOH (30%)": Model("doh", "40x9", True, 0.25),
    "DOH (60%)": Model("doh", "40x9", True, 0.50),
    "DOH (100%)": Model("doh", "40x9", True, 0.8585),
    "DOH (4,20)": Model("doh", "20x4", True, 0.50),  # not in Table 2: a small D'OH for --quick runs and Fig. 6
}
DEFAULT_MODELS = tuple(m for m in MODELS if m != "DOH (4,20)")  # Table 2's eleven rows

# Published Table 2 (D'OH supplement, 512^3 grids, A100, 250 epochs): model -> (params, {bits: {shape: IoU}});
# its 16-bit rows are the MLPs' ("COIN"), none for D'OH.
PAPER_IOU: dict[str, tuple[int, dict[int, dict[str, float]]]] = {
    "MLP (4,20)": (1781, {6: {"dragon": 0.66, "armadillo": 0.74}, 8: {"dragon": 0.85, "armadillo": 0.94},
                          16: {"dragon": 0.88, "armadillo": 0.97}}),
    "MLP (4,30)": (3871, {6: {"dragon": 0.66, "armadillo": 0.87}, 8: {"dragon": 0.87, "armadillo": 0.96},
                          16: {"dragon": 0.90, "armadillo": 0.98}}),
    "MLP (9,28)": (7449, {6: {"dragon": 0.67, "armadillo": 0.86}, 8: {"dragon": 0.88, "armadillo": 0.96},
                          16: {"dragon": 0.94, "armadillo": 0.98}}),
    "MLP (9,40)": (14961, {6: {"dragon": 0.72, "armadillo": 0.88}, 8: {"dragon": 0.93, "armadillo": 0.97},
                           16: {"dragon": 0.97, "armadillo": 0.99}}),
    "MLP+PE (4,20)": (2981, {6: {"dragon": 0.85, "armadillo": 0.94}, 8: {"dragon": 0.94, "armadillo": 0.97},
                             16: {"dragon": 0.95, "armadillo": 0.97}}),
    "MLP+PE (4,30)": (5671, {6: {"dragon": 0.87, "armadillo": 0.96}, 8: {"dragon": 0.96, "armadillo": 0.98},
                             16: {"dragon": 0.96, "armadillo": 0.98}}),
    "MLP+PE (9,28)": (9129, {6: {"dragon": 0.87, "armadillo": 0.96}, 8: {"dragon": 0.96, "armadillo": 0.98},
                             16: {"dragon": 0.97, "armadillo": 0.98}}),
    "MLP+PE (9,40)": (17361, {6: {"dragon": 0.94, "armadillo": 0.97}, 8: {"dragon": 0.97, "armadillo": 0.99},
                              16: {"dragon": 0.98, "armadillo": 0.99}}),
    "DOH (30%)": (4641, {6: {"dragon": 0.89, "armadillo": 0.95}, 8: {"dragon": 0.95, "armadillo": 0.97}}),
    "DOH (60%)": (8881, {6: {"dragon": 0.94, "armadillo": 0.97}, 8: {"dragon": 0.97, "armadillo": 0.98}}),
    "DOH (100%)": (14961, {6: {"dragon": 0.95, "armadillo": 0.97}, 8: {"dragon": 0.97, "armadillo": 0.98}}),
}


@dataclass
class Settings:
    """The budget and every knob of a run; saved as table2.json beside the numbers."""

    shapes: tuple[str, ...] = ("armadillo", "dragon")
    models: tuple[str, ...] = DEFAULT_MODELS
    resolution: int = 128  # the paper: 512
    bits: tuple[int, ...] = (4, 5, 6, 8, 16)  # Table 2 has 6, 8 and 16 (= COIN); one fit gives every depth
    epochs: int = 250  # Table 1; the time budget usually stops first on CPU
    time_budget: float | None = 480.0  # seconds of fitting per (shape, model); None = epochs only
    batch_size: int = 20000  # Table 1
    lr_mlp: float = 1e-4  # Table 1
    lr_doh: float = 1e-6  # Table 1
    # lr_doh is the rate of a latent of ``lr_doh_latent``; other latents get lr_doh * lr_doh_latent / n, since
    # one Adam step moves every generated weight ~n times the step of z (docs/occupancy.md). 0 = same lr for all.
    lr_doh_latent: int = 0
    # "adam-weights": D'OH trained on its generated weights (nets/weight_space.py) at an MLP's rate, lr_doh_weights
    doh_optimizer: str = "adam-weights"  # the library default for meshes (docs/occupancy.md); "adam": Table 1
    lr_doh_weights: float = 1e-4
    doh_init: str = "siren"  # see docs/occupancy.md: the supplement's narrower bound stalls 9-layer nets
    loss: str = "mse"  # Table 1
    gamma: float = 0.999  # Table 1: exponential lr decay per epoch
    engine: str = "auto"
    seed: int = 0
    data_dir: str = str(DATA)
    # IoU of every decoded file also on these grids (the paper's is 512^3): the same file, ground truth sampled finer
    eval_resolutions: tuple[int, ...] = ()
    save_files: bool = False  # write each .inr beside the tables
    extra: dict[str, Any] = field(default_factory=dict)


def compress_config(model: Model, s: Settings) -> CompressConfig:
    """The CompressConfig of one Table 2 model under the settings' budget (lr per parameterization)."""
    optimizer = s.doh_optimizer if model.parameterization == "doh" else "adam"
    doh_scale = s.lr_doh_latent / model.latent_dim() if s.lr_doh_latent and model.latent_dim() else 1.0
    lr = (s.lr_doh_weights if optimizer == "adam-weights"
          else {"mlp": s.lr_mlp, "doh": s.lr_doh * doh_scale}[model.parameterization])
    fit = FitConfig(epochs=s.epochs, batch_size=s.batch_size, lr=lr, loss=s.loss, time_budget=s.time_budget,
                    gamma=s.gamma, seed=s.seed, progress=False, engine=s.engine, optimizer=optimizer)
    return CompressConfig(arch=model.arch, parameterization=model.parameterization, latent_dim=model.latent_dim(),
                          doh_init=s.doh_init, pe=model.pe, pe_freqs=10, bits=max(s.bits), fit=fit,
                          residual=False)  # the paper quantizes the latent itself


def _rows(shape: str, name: str, reports: list[dict[str, Any]], s: Settings) -> list[dict[str, Any]]:
    paper_params, paper = PAPER_IOU.get(name, (None, {}))
    out = []
    for r in reports:
        out.append({
            "shape": shape, "model": name, "bits": r["bits"], "params": r["stored_values"],
            "paper_params": paper_params, "est_kB": r["stored_values"] * r["bits"] / 8000,
            "file_kB": r["file_bytes"] / 1000, "iou": round(r["iou"], 4), "float_iou": round(r["float_iou"], 4),
            "paper_iou": paper.get(r["bits"], {}).get(shape), "resolution": s.resolution, "epochs": r["epochs"],
            "fit_seconds": round(r["fit_seconds"], 1), "lr": r["config"]["fit"]["lr"],
            **{f"iou_{n}": round(v, 4) for n, v in r.get("iou_at", {}).items()},
        })
    return out


def _write(rows: list[dict[str, Any]], s: Settings, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if rows:
        with open(out / "table2.csv", "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(dict.fromkeys(k for r in rows for k in r)))
            w.writeheader()
            w.writerows(rows)
    (out / "table2.md").write_text(markdown(rows, s))
    (out / "table2.json").write_text(json.dumps(asdict(s), indent=2))


def _cell(v: Any) -> str:
    return "-" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v))


def markdown(rows: list[dict[str, Any]], s: Settings) -> str:
    """Measured IoU (published in brackets) per model and bit depth, Table 2's layout."""
    shapes = [sh for sh in SHAPES if any(r["shape"] == sh for r in rows)]
    models = [m for m in MODELS if any(r["model"] == m for r in rows)]
    bit_depths = sorted({r["bits"] for r in rows})
    lines = [f"Binary occupancy, {s.resolution}^3 grid, fit budget {s.time_budget} s or {s.epochs} epochs per model "
             f"(batch {s.batch_size}, decay {s.gamma:g}/epoch, D'OH init {s.doh_init}, D'OH optimizer "
             f"{s.doh_optimizer}; lr per row). "
             "IoU measured on the decoded file (published 512^3 value in brackets); kB = params x bits / 8000, "
             "real file in the file column.", ""]
    head = "| bits | model | params | kB (est) | file kB | lr | " + " | ".join(f"{sh} IoU (paper)" for sh in shapes) + " |"
    lines += [head, "|" + "---|" * (6 + len(shapes))]
    for bits in bit_depths:
        for name in models:
            cells = {r["shape"]: r for r in rows if r["model"] == name and r["bits"] == bits}
            if not cells:
                continue
            any_r = next(iter(cells.values()))
            label = f"{name} = COIN" if bits == 16 and name.startswith("MLP") else name
            ious = [f"{cells[sh]['iou']:.3f} ({_cell(cells[sh]['paper_iou'])})" if sh in cells else "-" for sh in shapes]
            file_kb = "/".join(f"{cells[sh]['file_kB']:.2f}" for sh in shapes if sh in cells)
            lines.append(f"| {bits} | {label} | {any_r['params']} | {any_r['est_kB']:.2f} | {file_kb} | {any_r['lr']:.3g} | "
                         + " | ".join(ious) + " |")
    lines.append("")
    lines.append("Thai Statue: not available (no public copy small enough; see shared/data/meshes/SOURCES.md).")
    return "\n".join(lines) + "\n"


def _previous_rows(out: Path, s: Settings) -> list[dict[str, Any]]:
    """Rows of an earlier run in ``out`` for (shape, model) pairs this run does not redo."""
    path = out / "table2.csv"
    if not path.is_file():
        return []
    redo = {(sh, m) for sh in s.shapes for m in s.models}
    with open(path, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if (r["shape"], r["model"]) not in redo]
    numeric = {"bits": int, "params": int, "paper_params": int, "resolution": int, "epochs": int}
    for r in rows:
        for k, v in r.items():
            r[k] = None if v == "" else numeric.get(k, float)(v) if k not in ("shape", "model") else v
    return rows


def _score_elsewhere(encs: list[Encoded], truths: dict[int, OccupancySignal]) -> None:
    """Each file decoded on every other grid and scored against that grid's ground truth (``report['iou_at']``)."""
    for e in encs:
        e.report["iou_at"] = {n: g.compare(decode(e.data, resolution=n, force=True)[1])["iou"]
                              for n, g in truths.items()}


def _save_files(encs: list[Encoded], shape: str, name: str, out: Path) -> None:
    slug = safe_name(name.lower(), "model").strip("_")
    out.mkdir(parents=True, exist_ok=True)
    for e in encs:
        e.save(out / f"{shape}_{slug}_{e.report['bits']}bit.inr")


def run(s: Settings, out: Path, log=print, resume: bool = False) -> list[dict[str, Any]]:
    """Fit every (shape, model), write all bit depths, rewrite the tables after each fit.
    ``resume`` keeps an earlier run's rows in ``out`` for the (shape, model) pairs not redone."""
    rows: list[dict[str, Any]] = _previous_rows(out, s) if resume else []
    for shape in s.shapes:
        t0 = time.perf_counter()
        signal = OccupancySignal.load(Path(s.data_dir) / SHAPES[shape], resolution=s.resolution, progress=True)
        log(f"{shape}: ground truth {s.resolution}^3, {signal.grid.mean():.4f} occupied ({time.perf_counter() - t0:.1f} s)")
        truths = {n: OccupancySignal.load(Path(s.data_dir) / SHAPES[shape], resolution=n, progress=True)
                  for n in s.eval_resolutions if n != s.resolution}
        for name in s.models:
            model = MODELS[name]
            encs = encode_bits(signal, compress_config(model, s), list(s.bits))
            _score_elsewhere(encs, truths)
            if s.save_files:
                _save_files(encs, shape, name, out)
            rows += _rows(shape, name, [e.report for e in encs], s)
            _write(rows, s, out)
            log("  " + name + ": " + ", ".join(f"{e.report['bits']}b IoU {e.report['iou']:.4f}" for e in encs)
                + f"  ({encs[0].report['epochs']} epochs, {encs[0].report['fit_seconds']:.0f} s)")
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    d = Settings()
    p = argparse.ArgumentParser(prog="python -m inrzip.experiments.occupancy_table", description=__doc__.split("\n")[0])
    p.add_argument("--shapes", nargs="+", default=list(d.shapes), choices=sorted(SHAPES))
    p.add_argument("--models", nargs="+", default=list(d.models), choices=list(MODELS))
    p.add_argument("--resolution", type=int, default=d.resolution)
    p.add_argument("--bits", type=int, nargs="+", default=list(d.bits))
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--time-budget", type=float, default=d.time_budget, help="fit seconds per model (0: epochs only)")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr-mlp", type=float, default=d.lr_mlp)
    p.add_argument("--lr-doh", type=float, default=d.lr_doh)
    p.add_argument("--lr-doh-latent", type=int, default=d.lr_doh_latent,
                   help="scale the D'OH lr as lr-doh * this / latent (0: off)")
    p.add_argument("--doh-optimizer", choices=["adam", "adam-weights"], default=d.doh_optimizer,
                   help="adam: on the latent (Table 1); adam-weights: on the generated weights, at --lr-doh-weights")
    p.add_argument("--lr-doh-weights", type=float, default=d.lr_doh_weights)
    p.add_argument("--resume", action="store_true", help="keep other models' rows already in --out")
    p.add_argument("--gamma", type=float, default=d.gamma, help="lr decay per epoch (Table 1: 0.999)")
    p.add_argument("--doh-init", choices=["doh", "siren"], default=d.doh_init)
    p.add_argument("--engine", default=d.engine)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--data-dir", default=d.data_dir)
    p.add_argument("--eval-resolutions", type=int, nargs="+", default=[],
                   help="also score every decoded file on these grids (e.g. 256 512: the paper's grid)")
    p.add_argument("--save-files", action="store_true", help="write each .inr file into --out")
    p.add_argument("--out", default="results/occupancy")
    a = p.parse_args(argv)
    s = replace(d, shapes=tuple(a.shapes), models=tuple(a.models), resolution=a.resolution, bits=tuple(a.bits),
                epochs=a.epochs, time_budget=a.time_budget or None, batch_size=a.batch_size, lr_mlp=a.lr_mlp,
                lr_doh=a.lr_doh, lr_doh_latent=a.lr_doh_latent, doh_optimizer=a.doh_optimizer,
                lr_doh_weights=a.lr_doh_weights, gamma=a.gamma, doh_init=a.doh_init, engine=a.engine, seed=a.seed, data_dir=a.data_dir,
                eval_resolutions=tuple(a.eval_resolutions), save_files=a.save_files)
    run(s, Path(a.out), log=lambda m: print(m, flush=True), resume=a.resume)
    print((Path(a.out) / "table2.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
