"""The figures of "On Quantizing Implicit Neural Representations" (seed 000), one command each.

    python -m inrzip.experiments.quant_study activations   # Figure 1: sine / ReLU / Gaussian x quantizer x bits
    python -m inrzip.experiments.quant_study ssim          # Figure 2: PSNR and SSIM vs bits per quantizer
    python -m inrzip.experiments.quant_study qat           # Figure 3: QAT vs post-training, k-means
    python -m inrzip.experiments.quant_study dictionary    # Figure 4: code vs dictionary bytes per network size
    python -m inrzip.experiments.quant_study convergence   # Figures 7-8: MSE vs log10(MSE), 1/MSE-scaled SGD
    python -m inrzip.experiments.quant_study headline      # the "must show" differences, from ssim + qat CSVs

Each writes ``NAME.csv`` (one row per image and setting), ``NAME.json`` (the configuration) and
``NAME.png`` under ``--out`` (default ``results/quant``). ``--paper`` switches to the paper-sized
budget (``BUDGETS["paper"]``). Post-training rows come from one fit per image and network, written at
every bit depth and quantizer, so quantizers are compared on the *same* fitted network.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from ..api import field_of
from ..errors import InrzipError
from ..quant import get_quantizer
from .quant_common import (
    BUDGETS,
    QUANTIZER_ORDER,
    Budget,
    Fitted,
    continue_fit,
    file_row,
    fit_config,
    fit_network,
    load_images,
    mean_rows,
    write_rows,
)
from .quant_plots import plot_activations, plot_convergence, plot_dictionary, plot_qat, plot_ssim
from .runner import ArgParser, experiment

__all__ = ["Settings", "EXPERIMENTS", "run_activations", "run_ssim", "run_qat", "run_dictionary", "run_convergence",
           "main"]

Row = dict[str, Any]


@dataclass(frozen=True)
class Settings:
    """Networks of each experiment (the paper's where it names them: CIFAR 1x20, DIV2K 2x64, 32/64 units)."""

    cifar_arch: str = "20x1"  # WIDTHxHIDDEN: 1 hidden layer of 20 units (Figure 3)
    div2k_archs: tuple[str, ...] = ("32x2", "64x2")  # Figure 1's "32 unit" and "64 unit" DIV2K networks
    activations: tuple[str, ...] = ("sine", "relu", "gauss")
    quantizers: tuple[str, ...] = QUANTIZER_ORDER
    qat_bits: tuple[int, ...] = (2, 3, 4, 6)
    qat_methods: tuple[str, ...] = ("qat", "qat-warm")  # from the first step / after 50% float epochs
    warm_fraction: float = 0.5
    dict_archs: tuple[str, ...] = ("8x1", "20x1", "32x2", "64x2", "128x3")
    seed: int = 0


def _datasets(budget: Budget, s: Settings, div2k_archs: Sequence[str]) -> list[tuple[str, str, str, Any]]:
    """(dataset, arch, image name, signal) for every fit of a post-training study."""
    cifar = load_images("cifar", budget) if budget.cifar_images else []
    jobs = [("cifar", s.cifar_arch, name, sig) for name, sig in cifar]
    div = load_images("div2k", budget) if budget.div2k_images else []
    return jobs + [("div2k", arch, name, sig) for arch in div2k_archs for name, sig in div]


# Budget fields that pick which images run, not how each is fitted: a fit's cached rows hold across them.
_SELECTION = ("cifar_images", "div2k_images", "div2k_pick")


def fit_rows(out: Path, name: str, budget: Budget, s: Settings, key: Row, compute: Callable[[], list[Row]]) -> list[Row]:
    """``compute()``'s rows, or those a previous run saved for the same fit. At the paper budget a fit of a whole
    DIV2K image takes 6-30 minutes on a core and an experiment hours: each finished fit is appended to
    ``OUT/NAME.parts.jsonl`` (one line, one ``write``, so processes sharing the folder can run different images),
    and a rerun, killed or split by image, redoes only what is missing. The key holds the budget and settings, so a
    changed recipe never reuses rows."""
    fit = {k: v for k, v in asdict(budget).items() if k not in _SELECTION}
    ident = json.dumps({"fit": fit, "settings": asdict(s), **key}, sort_keys=True, default=str)
    path = out / f"{name}.parts.jsonl"
    text = path.read_text() if path.is_file() else ""
    for line in text.splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:  # a line torn by a killed run (or an empty one): that fit is redone
            continue
        if rec.get("key") == ident:
            return list(rec["rows"])
    rows = compute()
    out.mkdir(parents=True, exist_ok=True)
    torn = bool(text) and not text.endswith("\n")  # a killed run's half line (read before the fit, which is long)
    line = ("\n" if torn else "") + json.dumps({"key": ident, "rows": rows}, default=float) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
    return rows


def _ptq_rows(f: Fitted, quantizers: Sequence[str], bits: Sequence[int], **keys: Any) -> list[Row]:
    return [{**keys, **file_row(f, q, b)} for q in quantizers for b in bits]


def run_activations(budget: Budget, s: Settings, out: Path) -> list[Row]:
    """Figure 1: per activation, one fit per image, every quantizer at every bit depth."""
    rows = []
    for ds, arch, name, sig in _datasets(budget, s, s.div2k_archs):
        for act in s.activations:
            keys = {"dataset": ds, "arch": arch, "image": name, "activation": act}

            def one(sig: Any = sig, arch: str = arch, act: str = act, keys: Row = keys) -> list[Row]:
                f = fit_network(sig, arch, act, fit_config(budget), s.seed)
                return _ptq_rows(f, s.quantizers, budget.bits, **keys)
            rows += fit_rows(out, "activations", budget, s, keys, one)
    _save(rows, out, "activations", budget, s)
    plot_activations(mean_rows(rows, ("dataset", "arch", "activation", "quantizer", "bits"), ("psnr", "float_psnr")),
                     out / "activations.png")
    return rows


def run_ssim(budget: Budget, s: Settings, out: Path) -> list[Row]:
    """Figure 2: PSNR and SSIM of sine networks vs bits per quantizer; plus which tensor limits low bits."""
    rows, sens = [], []
    for ds, arch, name, sig in _datasets(budget, s, s.div2k_archs[-1:]):
        f = fit_network(sig, arch, "sine", fit_config(budget), s.seed)
        rows += _ptq_rows(f, s.quantizers, budget.bits, dataset=ds, arch=arch, image=name)
        if ds == "cifar":
            sens += tensor_sensitivity(f, ("minmax", "kmeans"), (2, 3), dataset=ds, arch=arch, image=name)
    _save(rows, out, "ssim", budget, s)
    write_rows(sens, out / "ssim_tensor_sensitivity.csv")
    plot_ssim(mean_rows(rows, ("dataset", "arch", "quantizer", "bits"), ("psnr", "ssim", "float_psnr", "float_ssim")),
              out / "ssim.png")
    return rows


def tensor_sensitivity(f: Fitted, quantizers: Sequence[str], bits: Sequence[int], **keys: Any) -> list[Row]:
    """PSNR when only one stored tensor is quantized (the rest stay float): which layer costs most."""
    stored = {k: v.detach().cpu() for k, v in f.param.stored().items()}
    rows = []
    for qn in quantizers:
        q = get_quantizer(qn)
        for b in bits:
            for name, t in stored.items():
                deq = torch.from_numpy(q.dequantize(q.quantize(t.numpy().ravel(), b))).view_as(t)
                layers = f.param.layers_from({**stored, name: deq})
                psnr = f.signal.evaluate(field_of(f.spec, layers))["psnr"]
                rows.append({**keys, "quantizer": qn, "bits": b, "tensor": name, "values": t.numel(), "psnr": psnr,
                             "float_psnr": f.float_metrics["psnr"]})
    return rows


def _qat_fit(sig: Any, arch: str, method: str, bits: int, budget: Budget, s: Settings) -> Fitted:
    """QAT with k-means at ``bits``: from the first step, or after ``warm_fraction`` of the epochs in float."""
    qcfg = fit_config(budget, qat_quantizer="kmeans", qat_bits=bits)
    if method == "qat":
        return fit_network(sig, arch, "sine", qcfg, s.seed)
    warm = max(1, round(budget.epochs * s.warm_fraction))
    f = fit_network(sig, arch, "sine", fit_config(budget, epochs=warm), s.seed)
    return continue_fit(f, replace(qcfg, epochs=max(1, budget.epochs - warm), seed=s.seed))


def run_qat(budget: Budget, s: Settings, out: Path) -> list[Row]:
    """Figure 3: k-means post-training (one float fit) vs QAT (one fit per bit depth), same epochs."""
    rows = []
    for ds, arch, name, sig in _datasets(budget, s, ("64x2",)):
        keys = {"dataset": ds, "arch": arch, "image": name}

        def ptq(sig: Any = sig, arch: str = arch, keys: Row = keys) -> list[Row]:
            f = fit_network(sig, arch, "sine", fit_config(budget), s.seed)
            return [{**keys, "method": "ptq", **file_row(f, "kmeans", b)} for b in s.qat_bits]
        rows += fit_rows(out, "qat", budget, s, {**keys, "method": "ptq"}, ptq)
        for method in s.qat_methods:
            for b in s.qat_bits:
                def qat(sig: Any = sig, arch: str = arch, method: str = method, b: int = b,
                        keys: Row = keys) -> list[Row]:
                    q = _qat_fit(sig, arch, method, b, budget, s)
                    return [{**keys, "method": method, **file_row(q, "kmeans", b),
                             "refit_psnr": file_row(q, "kmeans", b, qat_tables=False)["psnr"]}]
                rows += fit_rows(out, "qat", budget, s, {**keys, "method": method, "bits": b}, qat)
    _save(rows, out, "qat", budget, s)
    plot_qat(mean_rows(rows, ("dataset", "arch", "method", "bits"), ("psnr", "ssim", "float_psnr")), out / "qat.png")
    return rows


def run_dictionary(budget: Budget, s: Settings, out: Path) -> list[Row]:
    """Figure 4: real code bytes vs k-means dictionary bytes (and the params x bits estimate) per network."""
    rows = []
    name, sig = load_images("cifar", budget)[0]
    for arch in s.dict_archs:
        f = fit_network(sig, arch, "sine", fit_config(budget), s.seed)
        shapes = [v.numel() for v in f.param.stored().values()]
        for b in budget.bits:
            r = file_row(f, "kmeans", b)
            r["dictionary_estimate_bytes"] = 4 * sum(min(1 << b, n) for n in shapes)
            rows.append({"dataset": "cifar", "arch": arch, "image": name, "tensors": len(shapes), **r})
    _save(rows, out, "dictionary", budget, s)
    plot_dictionary(rows, out / "dictionary.png")
    return rows


# Figures 7-8: (label, optimizer, loss, learning rate). 'sgd-log10mse' uses lr x ln(10), which makes its steps
# exactly those of 'sgd-inv-mse' (d log10 f = df / (f ln 10)), so the two curves should coincide.
CONVERGENCE_RUNS: tuple[tuple[str, str, str, float], ...] = (
    ("adam-mse", "adam", "mse", 1e-3),
    ("adam-log10mse", "adam", "log10mse", 1e-3),
    ("sgd-mse", "sgd", "mse", 2.0),  # 5 and 10 diverged, 1 and 2 stall at the mean colour (500 steps)
    ("sgd-inv-mse", "sgd-inv-mse", "mse", 0.001),  # 0.003+ oscillate (chaotic: rounding decides the curve)
    ("sgd-log10mse", "sgd", "log10mse", 0.001 * math.log(10.0)),
)


def _train_psnr(loss: str, value: float) -> float:
    """Training PSNR (peak 1) from a full-batch loss value of either kind."""
    if loss == "log10mse":
        return -10.0 * value
    return -10.0 * math.log10(value) if value > 0 else math.inf


def run_convergence(budget: Budget, s: Settings, out: Path,
                    runs: Sequence[tuple[str, str, str, float]] = CONVERGENCE_RUNS) -> list[Row]:
    """Training PSNR per epoch (full batch, so it is exact) for each loss/optimizer; final 16-bit explicit file."""
    rows, final = [], []
    name, sig = load_images("div2k", budget)[0] if budget.div2k_images else load_images("cifar", budget)[0]
    arch = s.div2k_archs[-1]
    for label, opt, loss, lr in runs:
        # no guard: its rollbacks would cut short the oscillations these figures are about
        cfg = fit_config(budget, batch_size=sig.num_samples(), optimizer=opt, loss=loss, lr=lr, guard=False)
        f = fit_network(sig, arch, "sine", cfg, s.seed)
        rows += [{"image": name, "arch": arch, "run": label, "optimizer": opt, "loss": loss, "lr": lr, "epoch": e,
                  "seconds": sec, "train_psnr": _train_psnr(loss, v)} for e, v, sec in f.result.history]
        final.append({"image": name, "arch": arch, "run": label, "lr": lr,
                      **file_row(f, "explicit", 16)})
    _save(rows, out, "convergence", budget, s)
    write_rows(final, out / "convergence_final.csv")
    plot_convergence(rows, out / "convergence.png")
    return rows


def headline(out: Path) -> list[Row]:
    """The paper's headline on the CIFAR sample, per image: k-means minus minmax PSNR on one fitted network
    (from ``ssim.csv``) and QAT minus post-training k-means PSNR (from ``qat.csv``), at 2 and 3 bits."""
    ptq = [r for r in _read_csv(out / "ssim.csv") if r["dataset"] == "cifar"]
    qat = [r for r in _read_csv(out / "qat.csv") if r["dataset"] == "cifar"]
    psnr = {(r["image"], r["quantizer"], int(r["bits"])): float(r["psnr"]) for r in ptq}
    qpsnr = {(r["image"], r["method"], int(r["bits"])): float(r["psnr"]) for r in qat}
    rows = []
    for image in sorted({r["image"] for r in ptq}):
        for b in (2, 3):
            row: Row = {"image": image, "bits": b,
                        "kmeans_minus_minmax": psnr[(image, "kmeans", b)] - psnr[(image, "minmax", b)]}
            for m in ("qat", "qat-warm"):
                if (image, m, b) in qpsnr:
                    row[f"{m}_minus_ptq"] = qpsnr[(image, m, b)] - qpsnr[(image, "ptq", b)]
            rows.append(row)
    write_rows(rows, out / "headline.csv")
    return rows


def _read_csv(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open() as fh:
        return list(csv.DictReader(fh))


def _save(rows: list[Row], out: Path, name: str, budget: Budget, s: Settings) -> None:
    write_rows(rows, out / f"{name}.csv", {"experiment": name, "budget": asdict(budget), "settings": asdict(s)})


EXPERIMENTS: dict[str, Callable[[Budget, Settings, Path], list[Row]]] = {
    "activations": run_activations,
    "ssim": run_ssim,
    "qat": run_qat,
    "dictionary": run_dictionary,
    "convergence": run_convergence,
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m inrzip.experiments.quant_study", description=__doc__.split("\n")[0])
    p.add_argument("experiment", choices=[*EXPERIMENTS, "all", "headline"],
                   help="'headline': per-image k-means-minus-minmax and QAT-minus-PTQ PSNR from ssim.csv and qat.csv")
    p.add_argument("--paper", action="store_true", help="paper-sized budget (all images, 2000 epochs)")
    p.add_argument("--out", type=Path, default=Path("results/quant"))
    p.add_argument("--epochs", type=int, help="override the budget's epochs")
    p.add_argument("--cifar-images", type=int, help="override how many CIFAR images")
    p.add_argument("--div2k-images", type=int, choices=range(4), metavar="{0..3}",
                   help="override how many DIV2K images (0: CIFAR only, e.g. to run the paper budget in parts)")
    p.add_argument("--div2k-pick", nargs="+", metavar="NAME",
                   help="these DIV2K images (0801 0829 0845) instead of the first N: one process per image, same --out")
    p.add_argument("--bits", type=int, nargs="+", help="override the post-training bit depths")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    budget = BUDGETS["paper" if args.paper else "default"]
    pick = tuple(args.div2k_pick or ())
    over = {"epochs": args.epochs, "cifar_images": args.cifar_images,
            "div2k_images": len(pick) if pick else args.div2k_images, "div2k_pick": pick or None,
            "bits": tuple(args.bits) if args.bits else None}
    budget = replace(budget, **{k: v for k, v in over.items() if v is not None})
    try:
        return _run(args, budget)
    except InrzipError as e:  # missing data, an unknown image: one line, not a traceback
        print(f"error: {e}")
        return 2


def _run(args: argparse.Namespace, budget: Budget) -> int:
    if args.experiment == "headline":
        for r in headline(args.out):
            print(", ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()))
        return 0
    names = list(EXPERIMENTS) if args.experiment == "all" else [args.experiment]
    for name in names:
        rows = EXPERIMENTS[name](budget, Settings(), args.out)
        print(f"{name}: {len(rows)} rows -> {args.out / (name + '.csv')}, {args.out / (name + '.png')}")
    return 0


# --quick: the same code on one CIFAR image and a 16x16 DIV2K crop, tiny networks, 4 epochs, 2 and 3 bits.
QUICK_BUDGET = Budget(cifar_images=1, div2k_images=1, div2k_crop=16, epochs=4, batch_size=1024, lr=1e-3, bits=(2, 3))
QUICK_SETTINGS = Settings(cifar_arch="8x1", div2k_archs=("8x1",), qat_bits=(2,), dict_archs=("4x1", "8x1"))
FIGURES = {"activations": "Fig. 1: sine / ReLU / Gaussian x quantizer x bits",
           "ssim": "Fig. 2: PSNR and SSIM vs bits per quantizer (+ per-tensor sensitivity)",
           "qat": "Fig. 3: k-means QAT vs post-training", "dictionary": "Fig. 4: code vs dictionary bytes",
           "convergence": "Figs 7-8: MSE vs log10(MSE) vs 1/MSE-scaled SGD"}


def _register(name: str) -> None:
    def run(quick: bool, out: Path, argv: Sequence[str]) -> list[Row]:
        p = ArgParser(prog=f"python -m inrzip.experiments quant-{name}")
        p.add_argument("--paper", action="store_true", help="paper-sized budget (all images, 2000 epochs)")
        p.add_argument("--epochs", type=int, help="override the budget's epochs")
        a = p.parse_args(list(argv))
        budget = QUICK_BUDGET if quick else BUDGETS["paper" if a.paper else "default"]
        budget = replace(budget, epochs=a.epochs or budget.epochs)
        return EXPERIMENTS[name](budget, QUICK_SETTINGS if quick else Settings(), out)
    experiment(f"quant-{name}", f"seed 000 {FIGURES[name]} (--paper: the paper budget)")(run)


for _name in EXPERIMENTS:
    _register(_name)


if __name__ == "__main__":
    raise SystemExit(main())
