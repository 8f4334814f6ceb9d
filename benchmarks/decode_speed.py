"""Decode time of 768x512 files (MLP and D'OH 28x9), and that the pixels are those of the golden files.

    python benchmarks/decode_speed.py [--repeats 7] [--threads 2] [--baseline /path/to/old/checkout/src]

Decodes ``tests/golden/v1/kodim23_{mlp,doh}_28x9_*.inr`` (written by the code of commit d533178) ``--repeats``
times in this process after one warm-up and reports the median wall time of the whole ``decompress`` and of
its two parts (``decoded_layers``: entropy decoding, dequantization and D'OH's B z; the render), in a long-lived
process (D'OH's compiled product loaded), then the layers again with the NumPy reference product, and the
first decode of a fresh process (``first decode s``: what a one-off CLI decode pays after its imports,
whichever product ``use_fused`` picks there). The decoded pixels must hash to the golden manifest's SHA-256. With ``--baseline``, the same files are decoded by that
source tree in a subprocess (for example a ``git worktree`` of d533178) so old and new are timed in one run; with
``--rounds R``, R subprocesses of this tree and of the baseline in turn (medians of the long-lived and of the first
decode of a process), for a machine whose load drifts.

With ``--ab N``: the rendering spread over the cores (``signals.base.run_chunks``) against the serial render it
replaced (one chunk of 32768 pixels at a time, torch's threads inside each op), alternated N times in this process
so that a noisy machine weighs on both alike; for the two golden files (whole decode) and for the 768x512 render
of untrained MLP + PE networks of the widths ``--bpp`` plans for Kodak (22x7 .. 55x7, and 96x7). ``--chunks
2048,4096,...`` adds the parallel render at those chunk sizes (how ``signals.base.PARALLEL_CHUNK`` was chosen).
``--profile``: the golden D'OH file rendered on one thread under torch's profiler (where the time goes).
``--grid-ab N``: the positional encoding tabulated once per image axis and gathered per pixel
(``nets.NetworkField.on_grid``), or built for a run of pixels by one broadcast (``on_grid_span``, the default), against
encoding each pixel's coordinates, alternated N times, same cases as ``--ab`` plus a 128^3 occupancy grid.
``--scratch-ab N``: the golden files decoded with ``nets.Scratch``'s reused buffers and with a fresh allocation per
layer, alternated N times.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from inrzip.api import decoded_layers, decompress  # noqa: E402

GOLDEN = ROOT / "tests" / "golden" / "v1"
FILES = ("kodim23_mlp_28x9_minmax16", "kodim23_doh_28x9_minmax8")


def _sha(a: np.ndarray) -> str:
    a = np.ascontiguousarray(a)
    h = hashlib.sha256()
    h.update(str((a.dtype.str, a.shape)).encode())
    h.update(a.tobytes())
    return h.hexdigest()


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: allocator, thread pool
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


_FIRST = """
import sys, time
from pathlib import Path
import torch
torch.set_num_threads({threads})
import inrzip
data = Path({path!r}).read_bytes()
t0 = time.perf_counter(); inrzip.decompress(data); print(time.perf_counter() - t0)
"""


def first_decode_seconds(src: Path, path: Path, threads: int, repeats: int) -> float:
    """Median over ``repeats`` fresh processes of their first ``decompress`` (imports not counted)."""
    code = _FIRST.format(threads=threads, path=str(path))
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                  env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"}, cwd="/").stdout.split()[-1])
             for _ in range(repeats)]
    return statistics.median(times)


_BASELINE = """
import statistics, sys, time
from pathlib import Path
import torch
torch.set_num_threads({threads})
import inrzip
data = Path({path!r}).read_bytes()
inrzip.decompress(data)
t = []
for _ in range({repeats}):
    t0 = time.perf_counter(); inrzip.decompress(data); t.append(time.perf_counter() - t0)
print(statistics.median(t))
"""


def baseline_seconds(src: Path, path: Path, threads: int, repeats: int) -> float:
    code = _BASELINE.format(threads=threads, path=str(path), repeats=repeats)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"}, cwd="/")
    return float(out.stdout.strip().splitlines()[-1])


def alternated_baseline(src: Path, baseline: Path, path: Path, threads: int, repeats: int,
                        rounds: int) -> dict[str, float]:
    """``baseline_seconds`` and ``first_decode_seconds`` of this tree and of ``baseline``, in turn ``rounds`` times
    (a busy machine's slow minutes then weigh on both alike): the median over the rounds of each."""
    runs: dict[str, list[float]] = {"subprocess_s": [], "baseline_s": [], "first_s": [], "baseline_first_s": []}
    for _ in range(rounds):
        runs["subprocess_s"].append(baseline_seconds(src, path, threads, repeats))
        runs["baseline_s"].append(baseline_seconds(baseline, path, threads, repeats))
        runs["first_s"].append(first_decode_seconds(src, path, threads, repeats))
        runs["baseline_first_s"].append(first_decode_seconds(baseline, path, threads, repeats))
    return {k: statistics.median(v) for k, v in runs.items()}


def _alternate(fns: dict[str, object], repeats: int) -> dict[str, float]:
    """Median seconds of each function, called in turn ``repeats`` times after one warm-up each."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for k, fn in fns.items():
        fn()
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def _ab_cases() -> list[tuple[str, object]]:
    """The two golden files (whole decode) and 768x512 renders of untrained MLP + PE networks of the widths
    ``--bpp`` plans for Kodak."""
    from inrzip.api import CompressConfig, field_of, prepare
    from inrzip.signals import image as im

    cases = [(name, lambda data=(GOLDEN / f"{name}.inr").read_bytes(): decompress(data)) for name in FILES]
    photo = im.ImageSignal(np.zeros((512, 768, 3), np.float32))  # the grid is what matters, not the pixels
    for arch in ("22x7", "42x7", "55x7", "96x7"):
        prep = prepare(photo, CompressConfig(arch=arch, parameterization="mlp", pe=True))
        field = field_of(prep.spec, [(w.detach(), b.detach()) for w, b in prep.param.layers()])
        cases.append((f"MLP + PE {arch}, render", lambda f=field: im.render_image(f, 512, 768, 3, 8)))
    return cases


def grid_ab_rows(repeats: int) -> list[dict[str, object]]:
    """Three ways a renderer builds a grid's features, alternated (``--grid-ab``): every point's coordinates
    encoded (``per_pixel``), the encoding tabulated per axis and gathered per point (``NetworkField.on_grid``:
    ``gathered``), and a run of consecutive points built by one broadcast (``NetworkField.on_grid_span``: ``runs``,
    what the renderers use), the latter also with a fresh allocation per layer instead of ``nets.Scratch``'s reused
buffers (``runs_fresh``); the outputs must be equal. (The MLP file has no encoding: a control.)"""
    from inrzip.nets.networks import NetworkField, NetworkSpec, layer_shapes
    from inrzip.signals import occupancy as occ

    spec = NetworkSpec(3, 1, 28, 9, pe_freqs=10, pe_grid=(128,) * 3, pe_cap=0.5)  # D'OH 28x9's network on a mesh
    gen = torch.Generator().manual_seed(0)
    layers = [((torch.rand(o, i, generator=gen) * 2 - 1) / i, torch.zeros(o)) for o, i in layer_shapes(spec)]
    cases = [*_ab_cases(), ("occupancy 28x9 + PE, 128^3 render",
                            lambda f=NetworkField(spec, layers): occ.render_occupancy(f, 128))]
    rows = []
    for name, fn in cases:
        variants = {"per_pixel": partial(_without, fn, ("on_grid", "on_grid_span")),
                    "gathered": partial(_without, fn, ("on_grid_span",)), "runs_fresh": partial(_fresh_buffers, fn),
                    "runs": fn}
        reference = variants["per_pixel"]()
        same = all(bool(np.array_equal(reference, v())) for v in variants.values())
        t = _alternate(variants, repeats)
        rows.append({"case": name, "identical": same, **{f"{k}_s": v for k, v in t.items()}})
        print(f"| {name} | {t['per_pixel']:.3f} | {t['gathered']:.3f} | {t['runs_fresh']:.3f} | {t['runs']:.3f} "
              f"| {t['runs'] / t['per_pixel'] - 1:+.0%} | {same} |", flush=True)
    return rows


def scratch_ab_rows(repeats: int) -> list[dict[str, object]]:
    """The two golden files' whole decode with ``nets.Scratch``'s reused buffers against a fresh allocation per layer,
    alternated (``--scratch-ab``); the outputs must be equal."""
    rows = []
    for name in FILES:
        data = (GOLDEN / f"{name}.inr").read_bytes()
        variants = {"fresh": partial(_fresh_buffers, partial(decompress, data)), "reused": partial(decompress, data)}
        same = bool(np.array_equal(variants["fresh"](), variants["reused"]()))
        t = _alternate(variants, repeats)
        rows.append({"case": name, "identical": same, **{f"{k}_s": v for k, v in t.items()}})
        print(f"| {name} | {t['fresh']:.3f} | {t['reused']:.3f} | {t['reused'] / t['fresh'] - 1:+.0%} | {same} |",
              flush=True)
    return rows


def _fresh_buffers(fn):
    """``fn()`` with every hidden layer's output in a fresh allocation, as before ``nets.Scratch``."""
    from inrzip.nets.networks import Scratch

    take = Scratch.take
    Scratch.take = lambda self, parity, like, width: torch.empty(like.shape[0], width, dtype=like.dtype,
                                                                 device=like.device)
    try:
        return fn()
    finally:
        Scratch.take = take


def _without(fn, methods: tuple[str, ...]):
    """``fn()`` with ``NetworkField``'s ``methods`` hidden (the renderers then take their fallbacks)."""
    from inrzip.nets.networks import NetworkField

    saved = {m: getattr(NetworkField, m) for m in methods}
    try:
        for m in methods:
            setattr(NetworkField, m, None)
        return fn()
    finally:
        for m, v in saved.items():
            setattr(NetworkField, m, v)


def ab_rows(repeats: int, chunks: list[int]) -> list[dict[str, object]]:
    """Serial against parallel rendering, alternated (``--ab``), and the parallel render at other ``chunks``
    sizes; the outputs must be equal."""
    from inrzip.signals import image as im

    parallel_workers = im.render_workers
    rows = []
    for name, fn in _ab_cases():
        def serial(fn=fn):
            im.render_workers = lambda device: 1
            try:
                return fn()
            finally:
                im.render_workers = parallel_workers
        def at_chunk(size: int, fn=fn):
            default = im.PARALLEL_CHUNK
            im.PARALLEL_CHUNK = size
            try:
                return fn()
            finally:
                im.PARALLEL_CHUNK = default
        variants = {"serial": serial, "parallel": fn, **{f"chunk {c}": partial(at_chunk, c) for c in chunks}}
        reference = serial()
        same = all(bool(np.array_equal(reference, v())) for k, v in variants.items() if k != "serial")
        t = _alternate(variants, repeats)
        rows.append({"case": name, "identical": same, **{f"{k.replace(' ', '_')}_s": v for k, v in t.items()}})
        print(f"| {name} | {t['serial']:.3f} | {t['parallel']:.3f} | {t['parallel'] / t['serial'] - 1:+.0%} | {same} |"
              + "".join(f" {t[f'chunk {c}']:.3f} |" for c in chunks), flush=True)
    return rows


def profile_render(threads: int = 1) -> None:
    """The golden D'OH file's render on ``threads`` threads under torch's profiler: the ops that take the time."""
    from inrzip.api import field_of
    from inrzip.bitstream.pipeline import unpack
    from inrzip.signals import image as im

    _, spec, layers = unpack((GOLDEN / f"{FILES[1]}.inr").read_bytes())
    field = field_of(spec, layers)
    torch.set_num_threads(threads)
    im.render_image(field, 512, 768, 3, 8)
    t0 = time.perf_counter()
    with torch.profiler.profile() as prof:
        im.render_image(field, 512, 768, 3, 8)
    print(f"render on {threads} thread(s) under the profiler: {time.perf_counter() - t0:.3f} s")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=8))


def _ab_done(a: argparse.Namespace, key: str, rows: list[dict[str, object]]) -> int:
    """Write an alternation's rows to ``--json`` (with the machine's settings); 1 when any variant's output differed."""
    if a.json:
        a.json.write_text(json.dumps({"threads": a.threads, "torch": torch.__version__,
                                      "date": time.strftime("%Y-%m-%d %H:%M"), key: rows}, indent=1))
    return 0 if all(r["identical"] for r in rows) else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--baseline", type=Path, help="src/ of an older checkout to time in the same run")
    ap.add_argument("--rounds", type=int, default=1,
                    help="with --baseline: subprocesses of this tree and the baseline's, in turn, this many times")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--ab", type=int, default=0, metavar="N", help="serial vs parallel rendering, alternated N times")
    ap.add_argument("--chunks", default="", help="with --ab: also the parallel render at these chunk sizes")
    ap.add_argument("--profile", action="store_true", help="profile the D'OH file's render on one thread")
    ap.add_argument("--grid-ab", type=int, default=0, metavar="N",
                    help="encoding per pixel vs tabulated (gathered, runs), alternated N times")
    ap.add_argument("--scratch-ab", type=int, default=0, metavar="N",
                    help="reused activation buffers vs a fresh allocation per layer, alternated N times")
    a = ap.parse_args(argv)
    if a.profile:
        profile_render(1)
        return 0
    torch.set_num_threads(a.threads)
    if a.scratch_ab:
        print("| file | fresh buffers s | reused buffers s | change | identical |\n|---|---|---|---|---|")
        return _ab_done(a, "scratch_ab", scratch_ab_rows(a.scratch_ab))
    if a.grid_ab:
        print("| case | per-pixel encoding s | tabulated, gathered s | runs, fresh buffers s | runs s | runs vs per-pixel "
              "| identical |")
        print("|---|---|---|---|---|---|---|")
        return _ab_done(a, "grid_ab", grid_ab_rows(a.grid_ab))
    if a.ab:
        chunks = [int(c) for c in a.chunks.split(",") if c]
        print("| case | serial s | parallel s | change | identical |" + "".join(f" chunk {c} s |" for c in chunks))
        print("|---|---|---|---|---|" + "---|" * len(chunks))
        return _ab_done(a, "ab", ab_rows(a.ab, chunks))
    manifest = json.loads((GOLDEN / "manifest.json").read_text())
    rows = []
    import inrzip.nets.fused_bz  # noqa: F401  # a long-lived process: the compiled product is in use
    from inrzip.nets import parameterizations

    print("| file | decompress s | layers s | render s | layers s, NumPy reference | first decode s | pixels as golden |"
          + (" this tree, subprocess s | baseline s | this tree, first decode s | baseline, first decode s |"
             if a.baseline else ""))
    print("|---|---|---|---|---|---|---|" + ("---|---|---|---|" if a.baseline else ""))
    for name in FILES:
        path = GOLDEN / f"{name}.inr"
        data = path.read_bytes()
        total = _median_seconds(lambda: decompress(data), a.repeats)
        layers = _median_seconds(lambda: decoded_layers(data), a.repeats)
        same = _sha(decompress(data)) == manifest[name]["decoded_sha256"]
        fused = parameterizations.use_fused
        parameterizations.use_fused = lambda work: False
        try:
            reference = _median_seconds(lambda: decoded_layers(data), a.repeats)
            same = same and _sha(decompress(data)) == manifest[name]["decoded_sha256"]
        finally:
            parameterizations.use_fused = fused
        first = first_decode_seconds(ROOT / "src", path, a.threads, a.repeats)
        row = {"file": name, "decompress_s": total, "layers_s": layers, "render_s": total - layers,
               "layers_reference_s": reference, "first_decode_s": first, "pixels_identical": same}
        if a.baseline:
            row.update(alternated_baseline(ROOT / "src", a.baseline, path, a.threads, a.repeats, a.rounds))
        rows.append(row)
        print(f"| {name} | {total:.3f} | {layers:.3f} | {total - layers:.3f} | {reference:.3f} | {first:.3f} | {same} |"
              + (f" {row['subprocess_s']:.3f} | {row['baseline_s']:.3f} | {row['first_s']:.3f} "
                 f"| {row['baseline_first_s']:.3f} |" if a.baseline else ""), flush=True)
    if a.json:
        a.json.write_text(json.dumps({"threads": a.threads, "torch": torch.__version__,
                                      "date": time.strftime("%Y-%m-%d %H:%M"), "rows": rows}, indent=1))
    return 0 if all(r["pixels_identical"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
