"""Summarise ttq.py results: PSNR at fixed training seconds, time/steps to thresholds, medians over images.

Usage:
  /work/main/.venv/bin/python summarize.py results/GROUP.jsonl [more.jsonl ...] [--csv out.csv] [--times 10,30,60]
        [--per-image]

PSNR at T: linear interpolation between the evaluations around T (training clock = process CPU seconds with
1 thread, which equal wall seconds on an idle core; evaluation time excluded).
If a run ended before T (e.g. a fixed 300-epoch run), its final value is used and marked '*'.
Time to X dB: first crossing, interpolated between evaluations; '-' if never reached within the run.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from collections import OrderedDict

import numpy as np

THRESH = (29.4, 30.0)
STEPS: list[int] = []


def at(traj, T, key="psnr", x="t"):
    pts = [(r[x], r[key]) for r in traj if r.get("tag") != "mlp_before_projection" and r[key] is not None]
    pts.sort(key=lambda p: p[0])
    if not pts:
        return float("nan"), True
    if T >= pts[-1][0]:
        return pts[-1][1], T > pts[-1][0] + 1.0
    for (t0, v0), (t1, v1) in zip(pts, pts[1:]):
        if t0 <= T <= t1:
            if t1 == t0:
                return v1, False
            return v0 + (v1 - v0) * (T - t0) / (t1 - t0), False
    return pts[0][1], False


def reach(traj, thr, key="psnr", x="t"):
    pts = [(r[x], r[key]) for r in traj if r.get("tag") != "mlp_before_projection"]
    pts.sort(key=lambda p: p[0])
    for (t0, v0), (t1, v1) in zip(pts, pts[1:]):
        if v0 is None or v1 is None or not (math.isfinite(v0) and math.isfinite(v1)):
            continue
        if v0 >= thr:
            return t0
        if v1 >= thr:
            return t0 + (t1 - t0) * (thr - v0) / (v1 - v0)
    if pts and pts[0][1] is not None and pts[0][1] >= thr:
        return pts[0][0]
    return float("inf")


def normalise(res):
    """Time axis = process CPU seconds of training. Early runs used the wall clock ('t') and logged CPU ('cpu')."""
    if res.get("clock") != "cpu":
        for r in res["traj"]:
            r["wall"], r["t"] = r["t"], r["cpu"]
    return res


def row_for(res, times):
    res = normalise(res)
    tr = res["traj"]
    out = OrderedDict(run=res["run"], image=res["image"], crop=res["crop"], steps=res["steps"],
                      epochs=round(res["epochs"], 1), t_end=tr[-1]["t"], diverged=res["diverged"],
                      ms_per_step=round(1000 * tr[-1]["t"] / max(res["steps"], 1), 2),
                      cpu_over_wall=round(tr[-1]["t"] / max(tr[-1]["wall"], 1e-9), 3),
                      load_before=round(res["loadavg_before"][0], 2), load_after=round(res["loadavg_after"][0], 2))
    for T in times:
        vf, ended = at(tr, T)
        vq, _ = at(tr, T, "psnr_q16")
        out[f"psnr@{T:g}"] = round(vf, 2)
        out[f"q16@{T:g}"] = round(vq, 2)
        out[f"ended_before_{T:g}"] = ended
    for thr in THRESH:
        out[f"t_{thr}"] = round(reach(tr, thr), 1)
        out[f"step_{thr}"] = round(reach(tr, thr, x="step"))  if math.isfinite(reach(tr, thr, x="step")) else float("inf")
        out[f"tq16_{thr}"] = round(reach(tr, thr, "psnr_q16"), 1)
    for S in STEPS:
        vs, ended = at(tr, S, x="step")
        out[f"psnr@step{S}"] = round(vs, 2) if not ended else float("nan")
    out["psnr_final"] = tr[-1]["psnr"]
    out["q16_final"] = tr[-1]["psnr_q16"]
    return out


def fmt_t(x):
    return "-" if not math.isfinite(x) else f"{x:.0f}" if x >= 10 else f"{x:.1f}"


def med(xs):
    xs = [x for x in xs if x is not None and not (isinstance(x, float) and math.isnan(x))]
    return float(np.median(xs)) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--csv")
    ap.add_argument("--times", default="10,30,60")
    ap.add_argument("--per-image", action="store_true")
    ap.add_argument("--steps", default="", help="also PSNR at these step counts (load-independent), e.g. 500,1400")
    args = ap.parse_args()
    times = [float(t) for t in args.times.split(",")]
    STEPS[:] = [int(x) for x in args.steps.split(",") if x]
    rows = []
    for f in args.files:
        for line in open(f):
            rows.append(row_for(json.loads(line), times))
    if args.csv:
        with open(args.csv, "w", newline="") as fh:
            wr = csv.DictWriter(fh, fieldnames=list(rows[0].keys()))
            wr.writeheader()
            wr.writerows(rows)
    groups = OrderedDict()
    for r in rows:
        groups.setdefault(r["run"], []).append(r)
    hdr = ["config", "n"] + [f"PSNR@{T:g}s (q16)" for T in times] + ["t→29.4 s", "t→30.0 s", "steps→29.4",
                                                                      "ms/step", "max load"] + [f"PSNR@{S} steps" for S in STEPS]
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    for name, rs in groups.items():
        cells = [name, str(len(rs))]
        for T in times:
            mark = "*" if any(r[f"ended_before_{T:g}"] for r in rs) else ""
            cells.append(f"{med([r[f'psnr@{T:g}'] for r in rs]):.2f}{mark} ({med([r[f'q16@{T:g}'] for r in rs]):.2f})")
        for thr in THRESH:
            ts = [r[f"t_{thr}"] for r in rs]
            nreach = sum(math.isfinite(t) for t in ts)
            cells.append(f"{fmt_t(float(np.median(ts)))} [{nreach}/{len(rs)}]")
        cells.append(fmt_t(float(np.median([r["step_29.4"] for r in rs]))))
        cells.append(f"{med([r['ms_per_step'] for r in rs]):.1f}")
        cells.append(f"{max(max(r['load_before'], r['load_after']) for r in rs):.1f}")
        for S in STEPS:
            cells.append(f"{med([r[f'psnr@step{S}'] for r in rs]):.2f}")
        if any(r["diverged"] for r in rs):
            cells[0] += " (DIVERGED: " + ",".join(r["image"] for r in rs if r["diverged"]) + ")"
        print("| " + " | ".join(cells) + " |")
    if args.per_image:
        print()
        imgs = sorted({r["image"] + "/" + r["crop"] for r in rows})
        T = times[-1]
        print(f"per image, PSNR@{T:g}s float / t→29.4 / t→30.0")
        print("| config | " + " | ".join(imgs) + " |")
        print("|---|" + "---|" * len(imgs))
        for name, rs in groups.items():
            d = {r["image"] + "/" + r["crop"]: r for r in rs}
            cells = []
            for im in imgs:
                r = d.get(im)
                cells.append("" if r is None else
                             f"{r[f'psnr@{T:g}']:.2f} / {fmt_t(r['t_29.4'])} / {fmt_t(r['t_30.0'])}")
            print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
