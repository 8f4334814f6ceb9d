"""MLP fixed-depth fine-tuning at another start rate: python lrs.py IMAGE BUDGET LR_SCALE [flags]."""
import json, sys, io, contextlib
from functools import partial
from inrzip import cli
from inrzip.api import encoding
from inrzip.fit import finetune_config
img, budget, scale, *flags = sys.argv[1:]
encoding.finetune_config = partial(finetune_config, lr_scale=float(scale))
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    cli.main(["compress", f"/tmp/crops/{img}.png", "-o", "/tmp/screen/l.inr", "--time-budget", budget, "--mlp",
              "--threads", "1", "--json", "--force", "--quiet", *flags])
out = buf.getvalue()
j = json.loads(out[out.index("{"):])
print(json.dumps({"img": img, "budget": budget, "lr_scale": scale, "flags": " ".join(flags), "psnr": j.get("psnr"),
                  "bpp": j.get("bpp"), "epochs": j.get("epochs"), "events": j.get("fit_events")}))
