"""One ``inrzip compress CROP --mlp --time-budget BUDGET --threads 1 [flags]`` with the fixed-depth fine-tuning
starting at LR_SCALE x the rate the fit ended on (``fit.finetune_config``'s ``lr_scale``, 0.2 in inrzip; not a CLI
flag, so it is patched here); prints one JSON line (the decoded file's PSNR):

    PYTHONPATH=src python results/mlp-depth-ft/lr_scale_patch.py crops/kodim05.png 30 0.05 --bits 8

The crops are 256x256 centre crops of Kodak (the docs/fitting.md command that makes them)."""
import contextlib, io, json, sys, tempfile
from functools import partial
from pathlib import Path
from inrzip import cli
from inrzip.api import encoding
from inrzip.fit import finetune_config
crop, budget, scale, *flags = sys.argv[1:]
encoding.finetune_config = partial(finetune_config, lr_scale=float(scale))
buf = io.StringIO()
with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(buf):
    cli.main(["compress", crop, "-o", str(Path(tmp) / "x.inr"), "--time-budget", budget, "--mlp", "--threads", "1",
              "--json", "--quiet", *flags])
out = buf.getvalue()
j = json.loads(out[out.index("{"):])
print(json.dumps({"img": Path(crop).stem, "budget": budget, "lr_scale": scale, "flags": " ".join(flags),
                  "psnr": j.get("psnr"), "bpp": j.get("bpp"), "epochs": j.get("epochs"), "events": j.get("fit_events")}))
