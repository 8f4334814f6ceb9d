"""The ``--bpp`` ablation: the full method, and the full method with one part taken out or swapped, on the
same images at the same rate and fit budget.

    python benchmarks/rd_ablation.py --bpp 0.3 --time-budget 120 --jobs 2 --out results/rd-ablation

Variants (each row is a decoded file at or under the target rate):

- ``all``: ``encode(image, bpp=B)`` with the defaults (MLP + band-limited PE sized by the plan at 7 bits, the
  distributional quantizer's clipping chosen per file, bits allocated per tensor, then fine-tuned at that
  quantization for the last 3% of the fit: docs/rate.md, step 4);
- ``-finetune``: no fine-tuning (``finetune=0``, so the plan is at 8 bits, the method before 2026-12-05), and
  ``-finetune -allocation``: that same fit written with one depth for every tensor (``fit_quantization``
  without the distortion proxy; ``benchmarks/bit_allocation.py``), so that pair differs only in the allocation;
- ``-pe``: the MLP without positional encoding (``pe=False``);
- ``doh``: D'OH instead of the MLP (``parameterization="doh"``: the plan sizes its latent; one depth, no
  allocation, as D'OH stores one latent);
- ``+qat``: the full method plus quantization-aware training (``qat=True``).

Each fit runs in its own process at one thread (``--jobs`` at a time); rows are appended to ``rows.jsonl`` as
they finish and a rerun skips those already there. JPEG is measured on the same images (quality sweep,
interpolated at each file's own rate). Writes ``ablation.md`` and ``ablation.png`` under ``--out``.
"""

from __future__ import annotations

import argparse
import math
import sys
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

SUBSET = "kodim03,kodim06,kodim09,kodim12,kodim15,kodim18,kodim21,kodim24"
# variant -> CompressConfig overrides; "-finetune" also yields "-finetune -allocation" from the same fit
VARIANTS: dict[str, dict[str, object]] = {"all": {}, "-finetune": {"finetune": 0.0}, "-pe": {"pe": False},
                                          "doh": {"parameterization": "doh"}, "+qat": {"qat": True}}
ORDER = ("all", "-finetune", "-finetune -allocation", "-pe", "doh", "+qat")


def fit_variant(path: str, variant: str, bpp: float, budget: float) -> list[dict]:
    """Rows for one (image, variant), in a worker process at one thread."""
    import torch

    torch.set_num_threads(1)
    stem = Path(path).stem
    if variant == "-finetune":  # bit_allocation.one plans at the bits default, 8, and does not fine-tune
        import bit_allocation

        rows = bit_allocation.one(Path(path), bpp, budget, 1)
        return [{"image": stem, "variant": "-finetune" if r["allocate"] else "-finetune -allocation", "bpp": r["bpp"],
                 "psnr": r["psnr"], "network": f"mlp {r['arch']}", "epochs": r["epochs"]} for r in rows]
    from inrzip.api import CompressConfig, FitConfig, encode

    fit = FitConfig(progress=False, threads=1, time_budget=budget)
    r = encode(path, CompressConfig(bpp=bpp, fit=fit, **VARIANTS[variant])).report  # type: ignore[arg-type]
    return [{"image": stem, "variant": variant, "bpp": r["bpp"], "psnr": r["psnr"],
             "network": f"{r['config']['parameterization']} {r['planned_arch']}", "epochs": r["epochs"]}]


def run(a: argparse.Namespace, rows_path: Path) -> list[dict]:
    """The fits not yet in ``rows_path`` (kodak_rd's resumable row log)."""
    from kodak_rd import run_pending

    tasks = {(s, v): (str(a.data / f"{s}.png"), v, a.bpp, a.time_budget) for v in a.variants for s in a.images}
    return run_pending(rows_path, a.jobs, tasks, lambda r: (r["image"], r["variant"].split(" -allocation")[0]),
                       fit_variant,
                       lambda r: f"{r['image']} {r['variant']}: {r['bpp']:.4f} bpp, {r['psnr']:.2f} dB ({r['network']}, "
                                 f"{r['epochs']} epochs)")


def jpeg_at(a: argparse.Namespace) -> dict[str, list[tuple[float, float]]]:
    from inrzip.bench.codecs import sweep_codec
    from inrzip.signals.image import read_image

    out = {}
    for stem in a.images:
        pixels, _ = read_image(a.data / f"{stem}.png", 1 << 26, None)
        rgb = np.clip(np.rint(pixels * 255), 0, 255).astype(np.uint8)[..., :3]
        out[stem] = sorted((p["bpp"], p["psnr"]) for p in sweep_codec("jpeg", rgb))
    return out


def interp(points: list[tuple[float, float]], bpp: float) -> float:
    """JPEG's PSNR at ``bpp`` (linear between its two nearest files); NaN outside its sweep."""
    rates, psnrs = map(np.asarray, zip(*points))
    return float(np.interp(bpp, rates, psnrs)) if rates[0] <= bpp <= rates[-1] else math.nan


def markdown(a: argparse.Namespace, rows: list[dict], jpeg: dict[str, list[tuple[float, float]]]) -> tuple[str, dict]:
    by = {(r["image"], r["variant"]): r for r in rows}
    variants = [v for v in ORDER if any(r["variant"] == v for r in rows)]
    means: dict[str, dict[str, float]] = {}
    lines = [f"Kodak {len(a.images)} images ({', '.join(a.images)}), target {a.bpp} bpp, fit budget "
             f"{a.time_budget:.0f} s per file, one thread, {a.jobs} fits at a time; {date.today()}.", "",
             "| variant | mean bpp | mean PSNR dB | vs all | JPEG at the same rates | vs JPEG | images |",
             "|---|---|---|---|---|---|---|"]
    for v in variants:
        got = [by[(s, v)] for s in a.images if (s, v) in by]
        ref = [interp(jpeg[r["image"]], r["bpp"]) for r in got]
        both = [(r["psnr"], j) for r, j in zip(got, ref) if math.isfinite(j)]
        means[v] = {"bpp": float(np.mean([r["bpp"] for r in got])), "psnr": float(np.mean([r["psnr"] for r in got])),
                    "n": len(got), "vs_jpeg": float(np.mean([p - j for p, j in both])) if both else math.nan,
                    "jpeg": float(np.mean([j for _, j in both])) if both else math.nan}
    for v in variants:
        m = means[v]
        delta = m["psnr"] - means["all"]["psnr"] if "all" in means and means["all"]["n"] == m["n"] else math.nan
        lines.append(f"| {v} | {m['bpp']:.4f} | {m['psnr']:.2f} | {delta:+.2f} | {m['jpeg']:.2f} | {m['vs_jpeg']:+.2f} "
                     f"| {m['n']} |")
    lines += ["", "JPEG: the same images' quality sweep, interpolated at each file's own rate (\"vs JPEG\" averages "
              "over the images where JPEG reaches that rate).", "",
              "| image | " + " | ".join(variants) + " |", "|---|" + "---|" * len(variants)]
    for s in a.images:
        cells = [f"{by[(s, v)]['psnr']:.2f} ({by[(s, v)]['bpp']:.3f})" if (s, v) in by else "-" for v in variants]
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    nets = sorted({(r["variant"], r["network"]) for r in rows})
    lines += ["", "Networks: " + "; ".join(f"{v}: {n}" for v, n in nets)]
    return "\n".join(lines) + "\n", means


def plot(means: dict, a: argparse.Namespace, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(means)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(names, [means[v]["psnr"] for v in names], color=["C0" if v == "all" else "C7" for v in names])
    jpeg = [means[v]["jpeg"] for v in names if math.isfinite(means[v]["jpeg"])]
    if jpeg:
        ax.axhline(float(np.mean(jpeg)), color="C3", ls="--", label="JPEG at the same rates")
        ax.legend(loc="lower right")
    lo = min(means[v]["psnr"] for v in names)
    ax.set(ylim=(lo - 1.5, max(means[v]["psnr"] for v in names) + 0.5), ylabel="mean PSNR (dB), decoded files",
           title=f"--bpp {a.bpp} ablation, Kodak {len(a.images)} images, {a.time_budget:.0f} s per fit")
    for i, v in enumerate(names):
        ax.text(i, means[v]["psnr"] + 0.05, f"{means[v]['psnr']:.2f}", ha="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    ap.add_argument("--images", default=SUBSET, help="comma list of file stems in --data")
    ap.add_argument("--variants", default="all,-finetune,-pe,doh,+qat", help="comma list of: " + ", ".join(VARIANTS))
    ap.add_argument("--bpp", type=float, default=0.3)
    ap.add_argument("--time-budget", type=float, default=120.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("results/rd-ablation"))
    a = ap.parse_args(argv)
    a.images, a.variants = a.images.split(","), a.variants.split(",")
    unknown = [v for v in a.variants if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variant(s) {unknown}; choose from {list(VARIANTS)}")
    a.out.mkdir(parents=True, exist_ok=True)
    rows = run(a, a.out / "rows.jsonl")
    text, means = markdown(a, rows, jpeg_at(a))
    (a.out / "ablation.md").write_text(text)
    plot(means, a, a.out / "ablation.png")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
