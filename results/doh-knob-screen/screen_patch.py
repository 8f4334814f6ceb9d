"""One D'OH fit with the rate ending at FINAL of its start (not a CLI flag, so it is patched here), otherwise
``inrzip compress CROP --time-budget BUDGET --threads 1 [flags]``; prints one JSON line (the decoded file's PSNR):

    PYTHONPATH=src python results/doh-knob-screen/screen_patch.py crops/kodim05.png 60 0.05 [--batch-size 4096 ...]

The crops are 256x256 centre crops of Kodak (the docs/fitting.md command that makes them)."""
import contextlib, io, json, sys, tempfile
from pathlib import Path
from inrzip.nets.parameterizations import DOH
from inrzip import cli
crop, budget, final, *flags = sys.argv[1:]
DOH.optimizer_defaults["adam-weights"]["final_lr_fraction"] = float(final)
patched = {}
for opt in ("--z0-scale", "--carry-every"):  # the 2026-12-06 night screens (results/doh-numba-screen/README.md)
    if opt in flags:
        k = flags.index(opt)
        patched[opt], flags = flags[k + 1], flags[:k] + flags[k + 2:]
if "--carry-every" in patched:
    from inrzip.nets import weight_space
    weight_space.carry_every = lambda batch_size: int(patched["--carry-every"])  # CARRY_EVERY before 2026-12-07
if "--z0-scale" in patched:  # the initial latent z0 times ALPHA (Yeom et al.'s weight scaling, on D'OH's weights)
    import torch
    _init = DOH.__init__

    def _scaled_init(self, *a, **k):
        _init(self, *a, **k)
        with torch.no_grad():
            self.z.mul_(float(patched["--z0-scale"]))
    DOH.__init__ = _scaled_init
buf = io.StringIO()
with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(buf):
    cli.main(["compress", crop, "-o", str(Path(tmp) / "x.inr"), "--time-budget", budget, "--threads", "1", "--json",
              "--quiet", *flags])
out = buf.getvalue()
j = json.loads(out[out.index("{"):])
print(json.dumps({"img": Path(crop).stem, "budget": budget, "final": final, "flags": " ".join(flags), **patched,
                  "psnr": j.get("psnr"), "bpp": j.get("bpp"), "epochs": j.get("epochs")}))
