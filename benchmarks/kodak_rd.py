"""Kodak rate-distortion of ``--bpp``: the rate-distortion issue's 8-image subset (or all 24) at target rates,
classical codecs measured in the same run, the published Kodak curves beside ours, BD-rate against JPEG.

    python benchmarks/kodak_rd.py --bpp 0.1,0.2,0.3,0.5 --time-budget 120 --jobs 2 --out results/kodak-rd

Each (image, rate) is one ``encode(image, bpp=B, time_budget=T)`` with the defaults, in its own process at one
thread (``--jobs`` at a time); its row is appended to ``rows.jsonl`` as soon as it is done, and a rerun skips
the rows already there (a long run loses nothing when stopped). Then, per image, PSNR is interpolated at each
target rate (linearly in bpp between that image's two nearest files, ours and each codec's quality sweep),
and those per-image values are averaged; BD-rate / BD-PSNR against JPEG are per image (PCHIP over the rates
both curves cover, ``inrzip.bench.bdrate``), then averaged. Writes ``summary.json``, ``kodak_rd.md`` and
``kodak_rd.png`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import platform
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

SUBSET = ("kodim03", "kodim06", "kodim09", "kodim12", "kodim15", "kodim18", "kodim21", "kodim24")
CODECS = ("jpeg", "webp", "jpeg2000", "avif", "heic")
PUBLISHED = ("COIN", "Struempler-kodak_basic_8_bit", "Struempler-kodak_meta_learned_7_bit", "COOL-CHIC", "JPEG2000",
             "JPEG")
BD_RANGE = (0.15, 0.5)  # the BD-rate range (bpp)


def fit_one(path: str, bpp: float, budget: float | None, epochs: int | None, device: str = "cpu",
            save: str | None = None, pe_band: str | None = None) -> dict:
    """One file at ``bpp`` with the defaults (runs in a worker process, one thread); written to ``save`` (a
    folder) when given, so the files can be decoded elsewhere (the GPU run's files on a CPU). ``pe_band``: the
    encoding band instead of the default (a run of the earlier default beside today's)."""
    import torch

    from inrzip.api import CompressConfig, FitConfig, encode

    torch.set_num_threads(1)
    fit = FitConfig(progress=False, threads=1, time_budget=budget, device=device,
                    **({"epochs": epochs} if epochs else {}))
    t0 = time.perf_counter()
    enc = encode(path, CompressConfig(bpp=bpp, pe_band=pe_band, fit=fit))
    r = enc.report
    if save:
        enc.save(Path(save) / f"{Path(path).stem}_{bpp}.inr")
    return {"image": Path(path).stem, "target": bpp, "bpp": r["bpp"], "psnr": r["psnr"], "ssim": r["ssim"],
            "kind": r["config"]["parameterization"], "arch": r["planned_arch"], "bits": r["bits"],
            "tensor_bits": sorted(r.get("tensor_bits", {}).values()), "epochs": r["epochs"],
            "fit_seconds": r["fit_seconds"], "seconds": time.perf_counter() - t0, "fit_events": r["fit_events"],
            "device": torch.cuda.get_device_name(0) if device.startswith("cuda") else "cpu"}


def run_pending(rows_path: Path, jobs: int, tasks: dict[tuple, tuple], key_of: Callable[[dict], tuple],
                fn: Callable[..., dict | list[dict]], show: Callable[[dict], str], spawn: bool = False) -> list[dict]:
    """``fn(*args)`` for every task whose key has no row in ``rows_path`` yet, ``jobs`` processes at a time; each
    row is appended to the file as soon as it is done, so a stopped run loses nothing and a rerun skips it."""
    done = [json.loads(line) for line in rows_path.read_text().splitlines()] if rows_path.exists() else []
    have = {key_of(r) for r in done}
    context = multiprocessing.get_context("spawn") if spawn else None  # CUDA cannot be forked into workers
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [pool.submit(fn, *args) for key, args in tasks.items() if key not in have]
        for f in futures:
            try:
                result = f.result()
            except Exception:  # noqa: BLE001 - one failed fit must not lose the others; a rerun retries it
                print(f"a task failed (a rerun retries it):\n{traceback.format_exc()}", flush=True)
                continue
            for row in result if isinstance(result, list) else [result]:
                with rows_path.open("a") as fh:
                    fh.write(json.dumps(row) + "\n")
                done.append(row)
                print(show(row), flush=True)
    return done


def run_fits(a: argparse.Namespace, rows_path: Path) -> list[dict]:
    save = None
    if a.save_files:
        a.save_files.mkdir(parents=True, exist_ok=True)
        save = str(a.save_files)
    tasks = {(s, b): (str(a.data / f"{s}.png"), b, a.time_budget, a.epochs, a.device, save, a.pe_band)
             for s in a.images for b in a.bpp}
    return run_pending(rows_path, a.jobs, tasks, lambda r: (r["image"], r["target"]), fit_one,
                       lambda r: f"{r['image']} target {r['target']}: {r['bpp']:.4f} bpp, {r['psnr']:.2f} dB "
                                 f"({r['kind']} {r['arch']}, {r['seconds']:.0f} s)", spawn=a.device != "cpu")


def at(points: list[tuple[float, float]], bpp: float, reach: float = 0.05) -> float:
    """PSNR interpolated linearly in bpp at ``bpp``; up to ``reach`` (relative) beyond the points' rates the end
    segment is extended (a file that lands 3% under its target still counts at it: ``--bpp`` promises within 5%;
    a lone point counts as is, a little under what the full rate would give); NaN further out."""
    rates, psnrs = map(np.asarray, zip(*sorted(points)))
    if rates[0] <= bpp <= rates[-1]:
        return float(np.interp(bpp, rates, psnrs))
    if not rates[0] / (1 + reach) <= bpp <= rates[-1] * (1 + reach):
        return math.nan
    if len(rates) < 2:  # one file (a run at one rate): its own PSNR, a little under what the full rate would give
        return float(psnrs[0])
    i = 0 if bpp < rates[0] else len(rates) - 2
    slope = (psnrs[i + 1] - psnrs[i]) / (rates[i + 1] - rates[i])
    return float(psnrs[i] + slope * (bpp - rates[i]))


def codec_points(a: argparse.Namespace, codecs: list[str]) -> dict[str, dict[str, list[tuple[float, float]]]]:
    from inrzip.bench.codecs import sweep_codec
    from inrzip.signals.image import read_image

    out: dict[str, dict[str, list[tuple[float, float]]]] = {}
    if a.codecs_from:  # the sweeps of an earlier run on the same images (the codecs are deterministic)
        points = json.loads(a.codecs_from.read_text())["points"]
        return {s: {c: [tuple(p) for p in points[c][s]] for c in codecs} for s in a.images}
    for stem in a.images:
        pixels, _ = read_image(a.data / f"{stem}.png", 1 << 26, None)
        rgb = np.clip(np.rint(pixels * 255), 0, 255).astype(np.uint8)[..., :3]
        out[stem] = {c: [(p["bpp"], p["psnr"]) for p in sweep_codec(c, rgb)] for c in codecs}
    return out


def _mean(values: list[float]) -> float:
    ok = [v for v in values if math.isfinite(v)]
    return float(np.mean(ok)) if len(ok) == len(values) else math.nan  # a mean over fewer images is not shown


def _bd(anchor: list[tuple[float, float]], test: list[tuple[float, float]]) -> tuple[float, float]:
    from inrzip.bench.bdrate import bd_psnr, bd_rate
    from inrzip.errors import InputError

    lo, hi = BD_RANGE
    anchor = [p for p in anchor if lo * 0.8 <= p[0] <= hi * 1.25] or anchor
    try:
        return (bd_rate(*zip(*anchor), *zip(*test)), bd_psnr(*zip(*anchor), *zip(*test)))
    except InputError:  # curves that do not overlap (JPEG has no file this small on some images)
        return math.nan, math.nan


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    info = Path("/proc/cpuinfo")
    if info.exists():
        names = [ln.split(":", 1)[1].strip() for ln in info.read_text().splitlines() if ln.startswith("model name")]
        cpu = f"{names[0]} x{len(names)}" if names else cpu
    return cpu


def summarize(a: argparse.Namespace, rows: list[dict]) -> dict:
    from inrzip.bench.codecs import available_codecs

    codecs = available_codecs(a.codecs)
    ours = {s: [(r["bpp"], r["psnr"]) for r in rows if r["image"] == s] for s in a.images}
    theirs = codec_points(a, codecs)
    table = {"inrzip": {b: _mean([at(ours[s], b) for s in a.images]) for b in a.bpp}}
    for c in codecs:
        table[c] = {b: _mean([at(theirs[s][c], b) for s in a.images]) for b in a.bpp}
    bd = {s: _bd(theirs[s]["jpeg"], ours[s]) for s in a.images if len(ours[s]) > 1} if "jpeg" in codecs else {}
    return {"date": str(date.today()), "machine": _machine(),
            "python": platform.python_version(), "settings": {k: str(v) for k, v in vars(a).items()},
            "codecs": codecs, "mean_psnr": table, "bd_vs_jpeg": bd,
            "bd_rate_mean": _mean([v[0] for v in bd.values()]) if bd else math.nan,
            "bd_psnr_mean": _mean([v[1] for v in bd.values()]) if bd else math.nan,
            "points": {"inrzip": ours, **{c: {s: theirs[s][c] for s in a.images} for c in codecs}}}


def markdown(summary: dict, a: argparse.Namespace, rows: list[dict]) -> str:
    rates = a.bpp
    where = ", ".join(sorted({r.get("device", "cpu") for r in rows})) or a.device
    lines = [f"Kodak {len(a.images)} images ({', '.join(a.images)}), {summary['date']}, {summary['machine']}; "
             + (f"{a.epochs} epochs" if a.epochs else f"fit budget {a.time_budget:.0f} s")
             + f" per file, one thread, {a.jobs} files at a time on {where}. PSNR interpolated per image at each "
             "rate, then averaged.", "",
             "| method | " + " | ".join(f"{b} bpp" for b in rates) + " |", "|---|" + "---|" * len(rates)]
    for name, row in summary["mean_psnr"].items():
        lines.append(f"| {name} | " + " | ".join(f"{row[b]:.2f}" for b in rates) + " |")
    bd = (f"BD-rate vs JPEG (per image, then mean): {summary['bd_rate_mean']:+.1f}%, "
          f"BD-PSNR {summary['bd_psnr_mean']:+.2f} dB") if summary["bd_vs_jpeg"] else \
        "BD-rate vs JPEG: needs two or more target rates"
    lines += ["", bd, "",
              "| image | target | hit bpp | PSNR | JPEG at hit | network | bits (per tensor) | epochs | s |",
              "|---|---|---|---|---|---|---|---|---|"]
    jpeg = summary["points"].get("jpeg", {})
    for r in sorted(rows, key=lambda r: (r["image"], r["target"])):
        tb = r["tensor_bits"]
        ref = at(jpeg[r["image"]], r["bpp"], reach=0.0) if r["image"] in jpeg else math.nan
        lines.append(f"| {r['image']} | {r['target']} | {r['bpp']:.4f} | {r['psnr']:.2f} | {ref:.2f} | {r['kind']} {r['arch']} "
                     f"| {r['bits']}" + (f" ({min(tb)}-{max(tb)})" if tb else "") +
                     f" | {r['epochs']} | {r['seconds']:.0f} |")
    return "\n".join(lines) + "\n"


def plot(summary: dict, a: argparse.Namespace, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    for name, row in summary["mean_psnr"].items():
        xs = [b for b in a.bpp if math.isfinite(row[b])]
        ax.plot(xs, [row[b] for b in xs], "o-" if name == "inrzip" else "s--", lw=2.5 if name == "inrzip" else 1.2,
                label=f"{name} (measured here)")
    published = json.loads(a.published.read_text()) if a.published.exists() else {}
    for name in PUBLISHED:
        if name in published:
            c = published[name]
            keep = [(x, y) for x, y in zip(c["bpp"], c["psnr"]) if x <= max(a.bpp) * 1.1]
            if keep:
                ax.plot(*zip(*keep), ":", lw=1, label=f"{name} (published, all 24)")
    ax.set(xlabel="bits per pixel", ylabel="PSNR (dB)", xlim=(0.05, max(a.bpp) * 1.1),
           title=f"Kodak, {len(a.images)} images: mean of per-image PSNR interpolated at each rate")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    ap.add_argument("--images", default=",".join(SUBSET), help="comma list, or 'all' for the 24")
    ap.add_argument("--bpp", default="0.1,0.2,0.3,0.5", help="comma list of target rates")
    ap.add_argument("--time-budget", type=float, default=120.0)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="where the fits run (cuda: several processes share the GPU)")
    ap.add_argument("--save-files", type=Path, default=None, help="folder to write each .inr file to")
    ap.add_argument("--pe-band", default=None, help="the encoding band (e.g. half: images' default before 2026-12-04)")
    ap.add_argument("--codecs", default=",".join(CODECS), help="classical codecs swept on the same images")
    ap.add_argument("--codecs-from", type=Path, default=None,
                    help="summary.json of an earlier run on these images: reuse its codec sweeps")
    ap.add_argument("--published", type=Path,
                    default=ROOT.parent / "shared" / "data" / "baselines" / "kodak_published_rd.json")
    ap.add_argument("--out", type=Path, default=Path("results/kodak-rd"))
    a = ap.parse_args(argv)
    a.images = [f"kodim{i:02d}" for i in range(1, 25)] if a.images == "all" else a.images.split(",")
    a.bpp = [float(b) for b in a.bpp.split(",")]
    a.codecs = a.codecs.split(",")
    a.out.mkdir(parents=True, exist_ok=True)
    rows = [r for r in run_fits(a, a.out / "rows.jsonl") if r["image"] in a.images and r["target"] in a.bpp]
    summary = summarize(a, rows)
    (a.out / "summary.json").write_text(json.dumps(summary, indent=1))
    (a.out / "kodak_rd.md").write_text(markdown(summary, a, rows))
    plot(summary, a, a.out / "kodak_rd.png")
    print((a.out / "kodak_rd.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
