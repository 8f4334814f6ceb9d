"""MLP at a fixed depth with the latent fine-tuning path opened to it: python mlpft.py IMAGE BUDGET SHARE [flags]."""
import json, sys, io, contextlib
from inrzip import ratecontrol, cli
img, budget, share, *flags = sys.argv[1:]
ratecontrol._latent = lambda cfg: cfg.parameterization is not None
buf = io.StringIO()
src = img if img.endswith(".png") else f"/tmp/crops/{img}.png"
with contextlib.redirect_stdout(buf):
    rc = cli.main(["compress", src, "-o", f"/tmp/screen/m_{abs(hash(img))}.inr", "--time-budget", budget, "--mlp",
                   "--threads", "1", "--json", "--force", "--quiet", "--finetune", share, *flags])
out = buf.getvalue()
j = json.loads(out[out.index("{"):])
print(json.dumps({"img": img, "budget": budget, "share": share, "flags": " ".join(flags), "psnr": j.get("psnr"),
                  "bpp": j.get("bpp"), "epochs": j.get("epochs"), "events": j.get("fit_events")}))
