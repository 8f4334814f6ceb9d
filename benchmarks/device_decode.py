"""Does a file decode to the same signal on the CPU and on a GPU? (The brief: "a file decodes to the same signal
on any machine and device".)

    python benchmarks/device_decode.py tests/golden/v1/*.inr results/gpu-kodak24/files/*.inr --device cuda

Each file is decoded twice, on the CPU and on ``--device``; the decoded network weights are device-free (table
lookups and float64 NumPy), so any difference comes from the rendering arithmetic (sin, matrix products) of
the two devices. Images and views are compared as 8-bit values, occupancy grids voxel by voxel. Prints one
markdown row per file and a total line; ``--json`` writes the rows.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def as_levels(out: object) -> np.ndarray:
    """What a user gets: images as integers, float views rounded to 8 bits, grids as booleans."""
    a = np.asarray(out)
    if a.dtype.kind == "f":
        return np.clip(np.rint(a * 255.0), 0, 255).astype(np.int16)
    return a.astype(np.int16)


def raw_difference(data: bytes, device: str) -> float:
    """Largest |device - CPU| of the network's outputs at the samples it was fitted to (output units), the drift
    that ``signals.canonical.MARGIN`` must exceed; NaN for kinds without one grid (radiance)."""
    import torch

    from inrzip.api import field_of
    from inrzip.bitstream.pipeline import unpack
    from inrzip.signals.image import image_grid
    from inrzip.signals.occupancy import grid_coords

    header, spec, layers = unpack(data)
    if header["kind"] == "image":
        coords = image_grid(header["h"], header["w"])
    elif header["kind"] == "occupancy":
        n = header["resolution"]
        coords = grid_coords(torch.arange(n ** 3), n)
    else:
        return float("nan")
    cpu = field_of(spec, layers, "cpu")(coords)
    other = field_of(spec, layers, device)(coords.to(device)).cpu()
    return float((cpu - other).abs().max())


def compare(path: Path, device: str) -> dict:
    import inrzip

    data = path.read_bytes()
    t0 = time.perf_counter()
    header, cpu = inrzip.decode(data, progress=False, device="cpu")
    t_cpu = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, other = inrzip.decode(data, progress=False, device=device)
    t_dev = time.perf_counter() - t0
    a, b = as_levels(cpu), as_levels(other)
    diff = np.abs(a - b)
    return {"file": path.name, "kind": header["kind"], "values": int(a.size), "identical": bool(not diff.any()),
            "differing": int(np.count_nonzero(diff)), "max_diff": int(diff.max()) if diff.size else 0,
            "cpu_s": round(t_cpu, 3), "device_s": round(t_dev, 3), "raw_max_diff": raw_difference(data, device)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    import torch

    name = torch.cuda.get_device_name(0) if a.device.startswith("cuda") else a.device
    print(f"CPU against {name}, torch {torch.__version__}\n")
    print("| file | kind | values | identical | values differing | largest difference | raw outputs, largest "
          "difference | CPU s | device s |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows = []
    for path in a.files:
        r = compare(path, a.device)
        rows.append(r)
        print(f"| {r['file']} | {r['kind']} | {r['values']} | {'yes' if r['identical'] else 'no'} | {r['differing']} "
              f"| {r['max_diff']} | {r['raw_max_diff']:.2e} | {r['cpu_s']} | {r['device_s']} |", flush=True)
    same = sum(r["identical"] for r in rows)
    print(f"\n{same} of {len(rows)} files decode identically; largest difference "
          f"{max(r['max_diff'] for r in rows)}; {sum(r['differing'] for r in rows)} of "
          f"{sum(r['values'] for r in rows)} values differ; raw outputs differ by at most "
          f"{np.nanmax([r['raw_max_diff'] for r in rows]):.2e}")
    if a.json:
        a.json.write_text(json.dumps({"device": name, "torch": torch.__version__, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
