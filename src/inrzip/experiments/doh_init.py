"""D'OH supplement Fig. 1: the variance of generated weights W_l = B_l z against the SIREN target, per init.

    python -m inrzip.experiments doh-init-variance     # latent 2000, omega 30, input sizes 1..256, hidden 8..512

For each init of B_l (``doh``: the supplement's eqs. 13/16, hidden target U(+-1/(omega sqrt h)); ``siren``: the
SIREN reference code's U(+-sqrt(6/h)/omega)), z ~ U(+-1/n) is drawn as a D'OH fit starts and the first (input)
and a hidden layer of a sine network are generated from inrzip's own generator (``doh_weights``). The CSV has
the empirical variance of the generated weights beside each target's variance (exact: a^2/3 for U(+-a)).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..nets.networks import NetworkSpec, init_bounds, layer_shapes
from ..nets.parameterizations import DOH_INITS, doh_b_bounds, doh_weights
from .quant_common import save_figure, write_rows
from .runner import ArgParser, experiment, machine

__all__ = ["variance_rows", "INPUT_SIZES", "HIDDEN_SIZES"]

INPUT_SIZES = (1, 2, 3, 4, 8, 16, 32, 42, 63, 64, 128, 256)  # 2: image coords, 42: with PE, 63: 3-D with PE
HIDDEN_SIZES = (8, 16, 20, 28, 30, 40, 64, 128, 256, 512)  # includes the supplement's target widths
Row = dict[str, Any]


def _uniform_var(bound: float) -> float:
    return bound * bound / 3.0


def _generated_var(spec: NetworkSpec, layer: int, latent: int, init: str, rows: int, seed: int) -> float:
    """Empirical variance of up to ``rows`` generated weights of ``layer`` (z drawn as a D'OH fit starts)."""
    z = np.random.default_rng(seed).uniform(-1.0 / latent, 1.0 / latent, latent)
    o, i = layer_shapes(spec)[layer]
    bound = doh_b_bounds(spec, latent, init)[layer]
    w = doh_weights(seed, layer, min(rows, o * i), latent, bound, z)
    return float(np.var(w.astype(np.float64)))


def variance_rows(latent: int, omega: float, inputs: Sequence[int], hidden: Sequence[int], rows: int,
                  seed: int = 0) -> list[Row]:
    """One row per (init, layer kind, size): generated variance vs the init's target and SIREN's."""
    out = []
    for init in DOH_INITS:
        cases = [("input", n, NetworkSpec(n, 3, 64, 1, "sine", omega), 0) for n in inputs]
        cases += [("hidden", h, NetworkSpec(2, 3, h, 1, "sine", omega), 1) for h in hidden]
        for kind, size, spec, layer in cases:
            target = _uniform_var(init_bounds(spec, init)[layer])
            siren = _uniform_var(init_bounds(spec, "siren")[layer])
            supplement = _uniform_var(1.0 / size if layer == 0 else 1.0 / (omega * math.sqrt(size)))
            got = _generated_var(spec, layer, latent, init, rows, seed)
            out.append({"init": init, "layer": kind, "size": size, "latent": latent, "omega": omega,
                        "generated_var": got, "target_var": target, "siren_code_var": siren,
                        "supplement_var": supplement, "ratio_to_target": got / target,
                        "ratio_to_siren_code": got / siren, "weights_sampled": min(rows, math.prod(
                            layer_shapes(spec)[layer]))})
    return out


def _plot(rows: Sequence[Row], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, kind, xlabel in zip(axes, ("input", "hidden"), ("input size (fan_in)", "hidden units h")):
        sel = [r for r in rows if r["layer"] == kind]
        sizes = sorted({r["size"] for r in sel})
        first = [next(r for r in sel if r["size"] == s) for s in sizes]
        ax.plot(sizes, [r["siren_code_var"] for r in first], "k-", label="SIREN (reference code) target")
        if kind == "hidden":
            ax.plot(sizes, [r["supplement_var"] for r in first], "k--", label="supplement target 1/(omega sqrt h)")
        for init, marker, colour in (("doh", "o", "C3"), ("siren", "x", "C0")):
            pts = sorted((r for r in sel if r["init"] == init), key=lambda r: r["size"])
            ax.plot([r["size"] for r in pts], [r["generated_var"] for r in pts], marker, color=colour, ms=6,
                    mfc="none", label=f"D'OH generated, init {init}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("weight variance")
        ax.set_title(f"{kind} layer, latent {rows[0]['latent']}, omega {rows[0]['omega']:g}", fontsize=9)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    save_figure(fig, path)


@experiment("doh-init-variance", "D'OH supp. Fig. 1: generated-weight variance vs SIREN target over input and "
                                 "hidden sizes, inits doh (eq. 16) and siren")
def run(quick: bool, out: Path, argv: Sequence[str]) -> list[Row]:
    p = ArgParser(prog="python -m inrzip.experiments doh-init-variance")
    p.add_argument("--latent", type=int, default=200 if quick else 2000, help="latent size n (supplement: 2000)")
    p.add_argument("--omega", type=float, default=30.0)
    p.add_argument("--rows", type=int, default=256 if quick else 4096, help="generated weights sampled per layer")
    a = p.parse_args(list(argv))
    inputs, hidden = (INPUT_SIZES[::4], HIDDEN_SIZES[::4]) if quick else (INPUT_SIZES, HIDDEN_SIZES)
    rows = variance_rows(a.latent, a.omega, inputs, hidden, a.rows)
    write_rows(rows, out / "doh-init-variance.csv", {"experiment": "doh-init-variance", **vars(a),
                                                     "inputs": inputs, "hidden": hidden, "machine": machine()})
    _plot(rows, out / "doh-init-variance.png")
    return rows
