"""Write the golden ``.inr`` files of one format version and the SHA-256 of what they decode to.

    python tests/golden/make_golden.py            # new files for the current format version (refuses to overwrite)

The files are made once per format version and then never rewritten: ``tests/test_golden.py`` decodes every
golden file of every version on every run, so a change that alters what an old file decodes to fails there.
Each file is tiny (a few small networks fitted for a few epochs): what matters is that it is a real file of
its kind, parameterization and quantizer, not its quality.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data"
sys.path.insert(0, str(HERE.parent))

from golden_hash import decoded_sha256, layers_sha256  # noqa: E402

import inrzip  # noqa: E402
from inrzip.bitstream import VERSION  # noqa: E402

# name -> (source, options); options are CompressConfig / FitConfig fields
IMAGE = DATA / "kodim23_64.png"
CASES: dict[str, tuple[Path, dict]] = {
    "image_mlp_minmax8": (IMAGE, dict(parameterization="mlp", arch="12x2", bits=8)),
    "image_mlp_pe_minmax6": (IMAGE, dict(parameterization="mlp", arch="12x2", bits=6, pe=True)),
    "image_mlp_minmax16": (IMAGE, dict(parameterization="mlp", arch="8x1", bits=16)),
    "image_doh_siren_minmax8": (IMAGE, dict(parameterization="doh", arch="12x2", bits=8, doh_init="siren")),
    "image_doh_doh_minmax5": (IMAGE, dict(parameterization="doh", arch="12x2", bits=5, doh_init="doh", seed=7)),
    "image_mlp_explicit8": (IMAGE, dict(parameterization="mlp", arch="12x2", bits=8, quantizer="explicit")),
    "image_doh_distributional6": (IMAGE, dict(parameterization="doh", arch="12x2", bits=6, quantizer="distributional")),
    "image_mlp_kmeans4": (IMAGE, dict(parameterization="mlp", arch="12x2", bits=4, quantizer="kmeans")),
    "image_mlp_kmeans3_qat": (IMAGE, dict(parameterization="mlp", arch="12x2", bits=3, quantizer="kmeans", qat=True)),
    "image_mlp_relu_pe8": (IMAGE, dict(parameterization="mlp", arch="12x2", bits=8, activation="relu", pe=True)),
    "image_mlp_gauss8": (IMAGE, dict(parameterization="mlp", arch="12x2", bits=8, activation="gauss")),
    "gray16_mlp_minmax10": (DATA / "gray16_40.png", dict(parameterization="mlp", arch="8x2", bits=10)),
    "rgba_doh_minmax8": (DATA / "rgba_48x32.png", dict(parameterization="doh", arch="8x2", bits=8)),
    "occupancy_doh_minmax8": (DATA / "bunny_decimated_5k_instantngp.obj",
                              dict(parameterization="doh", arch="12x2", bits=8, _signal={"resolution": 16})),
    "occupancy_mlp_kmeans5": (DATA / "bunny_decimated_5k_instantngp.obj",
                              dict(parameterization="mlp", arch="12x2", bits=5, quantizer="kmeans",
                                   _signal={"resolution": 16})),
    "radiance_mlp_minmax8": (DATA / "nerf" / "blender_lego_tiny",
                             dict(parameterization="mlp", arch="16x1", bits=8,
                                  _signal={"size": 16, "samples": 8, "rays_per_epoch": 512})),
    # optional header fields added after the v1 files above (made with the code of their day, a12a9d3 and later)
    "image_doh_folded_minmax8": (IMAGE, dict(parameterization="doh", arch="12x2", bits=8, pe_band="folded")),
    "image_doh_capped_minmax8": (IMAGE, dict(parameterization="doh", arch="12x2", bits=8, pe_band="half")),
    "radiance_mlp_coarse_fine8": (DATA / "nerf" / "blender_lego_tiny",
                                  dict(parameterization="mlp", arch="16x1", bits=8,
                                       _signal={"size": 16, "samples": 8, "fine": 4, "networks": 2,
                                                "rays_per_epoch": 512})),
    # per-tensor bits (``tbits``), written by --bpp's bit allocation (the distributional quantizer)
    "image_mlp_pe_bpp_tbits": (IMAGE, dict(bpp=2.0, arch="12x2")),
    # full-size Kodak files (decode-speed reference: benchmarks/decode_speed.py); 1 epoch, quality irrelevant
    "kodim23_mlp_28x9_minmax16": (HERE.parents[2] / "shared" / "data" / "kodak" / "kodim23.png",
                                  dict(parameterization="mlp", arch="28x9", bits=16, _fit={"epochs": 1, "batch_size": 65536})),
    "kodim23_doh_28x9_minmax8": (HERE.parents[2] / "shared" / "data" / "kodak" / "kodim23.png",
                                 dict(parameterization="doh", arch="28x9", bits=8, _fit={"epochs": 1, "batch_size": 65536})),
    # residual coding against a shipped init (``res_init``, ``res_sha256``): decodes only with that very init
    "image_mlp_init_residual8": (IMAGE, dict(parameterization="mlp", arch="28x9", bits=8, pe=False,
                                             init="siren-28x9-div2k", residual=True)),
    # residual coding against the seeded random init (``res_seed``): pins the init's stream and bounds
    "image_mlp_seeded_residual6": (IMAGE, dict(parameterization="mlp", arch="12x2", bits=6, pe=False, residual=True)),
    "image_doh_seeded_residual6": (IMAGE, dict(parameterization="doh", arch="12x2", bits=6, residual=True)),
    "occupancy_doh_seeded_residual6": (DATA / "bunny_decimated_5k_instantngp.obj",
                                       dict(parameterization="doh", arch="12x2", bits=6, residual=True,
                                            _signal={"resolution": 16})),
    "occupancy_mlp_seeded_residual8": (DATA / "bunny_decimated_5k_instantngp.obj",
                                       dict(parameterization="mlp", arch="12x2", bits=8, residual=True,
                                            _signal={"resolution": 16})),
}
FIT = dict(epochs=3, batch_size=1024, progress=False, seed=0)


def main() -> int:
    out = HERE / f"v{VERSION}"
    out.mkdir(exist_ok=True)
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=HERE).stdout.strip()
    for name, (source, opts) in CASES.items():
        path = out / f"{name}.inr"
        if path.exists():
            continue  # golden files are never rewritten
        opts = dict(opts)
        sig = opts.pop("_signal", {})
        fit = inrzip.FitConfig(**{**FIT, **opts.pop("_fit", {})})
        cfg = inrzip.CompressConfig(fit=fit, **opts)
        enc = inrzip.encode(source, cfg, signal_options=sig)
        path.write_bytes(enc.data)
        manifest[name] = {"file": path.name, "source": source.name, "made_at": commit,
                          "file_sha256": __import__("hashlib").sha256(enc.data).hexdigest(),
                          "layers_sha256": layers_sha256(enc.data), "decoded_sha256": decoded_sha256(enc.data)}
        print(name, len(enc.data), "bytes")
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
