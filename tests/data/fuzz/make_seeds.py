"""Write the extra fuzzing seeds: small valid ``.inr`` files for the combinations the golden files lack.

    python tests/data/fuzz/make_seeds.py      # writes seeds/*.inr (existing files are kept)

The golden files (tests/golden/v*) are seeds too; together they cover every signal kind (image, occupancy,
Blender and LLFF radiance, hierarchical sampling), parameterization, quantizer and activation. Quality is
irrelevant: one or two epochs of tiny networks, so that each decode takes milliseconds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import inrzip

HERE = Path(__file__).resolve().parent
DATA = HERE.parent
IMAGE, GRAY = DATA / "kodim23_64.png", DATA / "gray_96x48.png"
MESH = DATA / "bunny_decimated_5k_instantngp.obj"
LEGO, FERN = DATA / "nerf" / "blender_lego_tiny", DATA / "nerf" / "llff_fern_tiny"
NERF = {"size": 12, "samples": 4, "rays_per_epoch": 256}

# name -> (source, CompressConfig fields, signal options)
SEEDS: dict[str, tuple[Path, dict, dict]] = {
    "image_doh_kmeans5": (IMAGE, dict(parameterization="doh", arch="8x1", bits=5, quantizer="kmeans"), {}),
    "image_doh_explicit8_gauss": (IMAGE, dict(parameterization="doh", arch="8x1", bits=8, quantizer="explicit",
                                              activation="gauss"), {}),
    "image_mlp_distributional4_relu": (GRAY, dict(parameterization="mlp", arch="8x1", bits=4,
                                                  quantizer="distributional", activation="relu"), {}),
    "occupancy_mlp_explicit8": (MESH, dict(parameterization="mlp", arch="8x1", bits=8, quantizer="explicit"),
                                {"resolution": 12}),
    "occupancy_doh_distributional6": (MESH, dict(parameterization="doh", arch="8x1", bits=6,
                                                 quantizer="distributional"), {"resolution": 12}),
    "radiance_blender_doh_kmeans4": (LEGO, dict(parameterization="doh", arch="8x1", bits=4, quantizer="kmeans"), NERF),
    "radiance_blender_mlp_fine_distributional6": (LEGO, dict(parameterization="mlp", arch="8x1", bits=6,
                                                             quantizer="distributional"), {**NERF, "fine": 4}),
    "radiance_llff_mlp_explicit8": (FERN, dict(parameterization="mlp", arch="8x1", bits=8, quantizer="explicit"), NERF),
    "radiance_llff_doh_minmax8": (FERN, dict(parameterization="doh", arch="8x1", bits=8), NERF),
}


def main() -> int:
    out = HERE / "seeds"
    out.mkdir(exist_ok=True)
    for name, (source, opts, signal) in SEEDS.items():
        path = out / f"{name}.inr"
        if path.exists():
            continue
        fit = inrzip.FitConfig(epochs=2, batch_size=1024, progress=False, seed=0)
        enc = inrzip.encode(source, inrzip.CompressConfig(fit=fit, **opts), signal_options=signal)
        path.write_bytes(enc.data)
        print(name, len(enc.data), "bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
