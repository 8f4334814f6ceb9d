"""Learned quantization steps in the fine-tuning, paired: one `--bpp` fit per image, then the fine-tuning run
from that same fitted state once per step rate (0 = the ranges the rate control chose stay fixed, the method
before 2026-12-05), so the columns differ by nothing but the steps.

    python benchmarks/finetune_steps.py --images kodim03,kodim06 --data ../shared/data/kodak --time-budget 600 \
        --step-lrs 0,3e-4 --jobs 2 --out results/finetune-steps-kodak-600

It follows ``api.encode_at_rate`` stage by stage (plan at ``FINETUNE_BITS``, fit for 1 - share of the budget,
quantize to 99% of the rate, then ``api.encoding._finetuned``), at one thread per image, ``--jobs`` images at a time.
Rows go to ``rows.jsonl`` under ``--out`` (a rerun skips the images already there); ``table.md`` shows the decoded
PSNR per image and step rate, the difference from the fixed ranges and the files' sizes.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def one(path: str, bpp: float, budget: float | None, epochs: int | None, rates: list[float],
        share: float) -> list[dict]:
    """Rows for one image: the fit, then one fine-tuning per step rate from copies of its state."""
    import torch

    from inrzip import api, finetune, ratecontrol
    from inrzip.api import CompressConfig, FitConfig

    torch.set_num_threads(1)
    signal = api.load(path)
    length = {"time_budget": budget} if budget is not None else {"epochs": epochs}
    cfg = CompressConfig(bpp=bpp, fit=FitConfig(progress=False, threads=1, **length))
    cfg = replace(cfg, **ratecontrol.default_kind(bpp))
    size = ratecontrol.target_bytes(bpp, signal.num_samples())
    net = replace(api.core._resolve_network(cfg, signal), fit=cfg.fit, bits=finetune.FINETUNE_BITS)
    planned = ratecontrol.plan(net, lambda c: api.core.network_spec(signal, c), size)
    short, whole = api.encoding._shortened(signal, planned, 1.0 - share)
    t0 = time.perf_counter()
    fitted = api.train(signal, short)
    before, tables = api.encoding._choose_at_rate(signal, fitted, planned.bits, int(size * finetune.FINETUNE_MARGIN))
    stem, rows = Path(path).stem, []
    base = {"image": stem, "arch": planned.arch, "budget_bytes": size, "fit_seconds": time.perf_counter() - t0,
            "before_psnr": before.report["psnr"], "before_bytes": before.sizes.file_bytes}
    for rate in rates:
        tuned = copy.deepcopy(fitted)
        tuned.config = replace(tuned.config, step_lr=rate)
        t1 = time.perf_counter()
        enc = api.encoding._finetuned(signal, tuned, tables, share, size, copy.deepcopy(before), whole)
        note = next(e for e in enc.report["fit_events"] if e.startswith("fine-tuning ") and "quantization:" in e)
        rows.append({**base, "step_lr": rate, "psnr": enc.report["psnr"], "bytes": enc.sizes.file_bytes,
                     "bpp": enc.report["bpp"], "epochs": enc.report["epochs"], "event": note,
                     "finetune_seconds": time.perf_counter() - t1})
    return rows


def table(rows: list[dict], rates: list[float]) -> str:
    by = {(r["image"], r["step_lr"]): r for r in rows}
    images = sorted({r["image"] for r in rows})
    head = " | ".join(f"step lr {g:g}" for g in rates)
    lines = [f"| image | network | before | {head} |", "|---|---|---|" + "---|" * len(rates)]
    for s in images:
        ref = by.get((s, rates[0]))
        cells = []
        for g in rates:
            r = by.get((s, g))
            diff = "" if r is None or ref is None or g == rates[0] else f", {r['psnr'] - ref['psnr']:+.3f}"
            cells.append("-" if r is None else f"{r['psnr']:.3f} ({r['bytes']} B{diff})")
        first = next(r for r in rows if r["image"] == s)
        lines.append(f"| {s} | {first['arch']} | {first['before_psnr']:.3f} | " + " | ".join(cells) + " |")
    means = []
    for g in rates:
        got = [by[(s, g)]["psnr"] for s in images if (s, g) in by]
        means.append(f"{np.mean(got):.3f}" if len(got) == len(images) else "-")
    lines.append("| mean | | " + f"{np.mean([by[(s, rates[0])]['before_psnr'] for s in images]):.3f} | "
                 + " | ".join(means) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", required=True, help="comma-separated stems of PNGs under --data")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--bpp", type=float, default=0.3)
    length = p.add_mutually_exclusive_group(required=True)
    length.add_argument("--time-budget", type=float)
    length.add_argument("--epochs", type=int)
    p.add_argument("--step-lrs", default="0,3e-4", help="comma-separated step rates; the first is the reference")
    p.add_argument("--share", type=float, default=None, help="fine-tuning share (default: finetune.FINETUNE)")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args()
    from inrzip import finetune

    rates = [float(g) for g in a.step_lrs.split(",")]
    share = finetune.FINETUNE if a.share is None else a.share
    a.out.mkdir(parents=True, exist_ok=True)
    log = a.out / "rows.jsonl"
    rows = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    done = {r["image"] for r in rows}
    todo = [s for s in a.images.split(",") if s not in done]
    with ProcessPoolExecutor(a.jobs) as pool:
        futures = [pool.submit(one, str(a.data / f"{s}.png"), a.bpp, a.time_budget, a.epochs, rates, share)
                   for s in todo]
        for f in futures:
            got = f.result()
            with log.open("a") as fh:
                fh.writelines(json.dumps(r) + "\n" for r in got)
            rows += got
            print(f"{got[0]['image']}: " + ", ".join(f"{r['step_lr']:g} -> {r['psnr']:.3f} dB" for r in got),
                  flush=True)
    (a.out / "table.md").write_text(table(rows, rates))
    print(table(rows, rates))


if __name__ == "__main__":
    main()
