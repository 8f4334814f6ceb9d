"""Screen one D'OH knob: python run.py IMAGE BUDGET FINAL [cli flags...] -> one JSON line."""
import json, sys, io, contextlib
from inrzip.nets.parameterizations import DOH
from inrzip import cli
img, budget, final, *flags = sys.argv[1:]
DOH.optimizer_defaults["adam-weights"]["final_lr_fraction"] = float(final)
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    rc = cli.main(["compress", f"/tmp/crops/{img}.png", "-o", f"/tmp/screen/{img}.inr", "--time-budget", budget,
                   "--threads", "1", "--json", "--force", "--quiet", *flags])
out = buf.getvalue()
j = json.loads(out[out.index("{"):])
print(json.dumps({"img": img, "budget": budget, "final": final, "flags": " ".join(flags), "psnr": j.get("psnr"),
                  "bpp": j.get("bpp"), "epochs": j.get("epochs")}))
