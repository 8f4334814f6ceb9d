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
buf = io.StringIO()
with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(buf):
    cli.main(["compress", crop, "-o", str(Path(tmp) / "x.inr"), "--time-budget", budget, "--threads", "1", "--json",
              "--quiet", *flags])
out = buf.getvalue()
j = json.loads(out[out.index("{"):])
print(json.dumps({"img": Path(crop).stem, "budget": budget, "final": final, "flags": " ".join(flags),
                  "psnr": j.get("psnr"), "bpp": j.get("bpp"), "epochs": j.get("epochs")}))
