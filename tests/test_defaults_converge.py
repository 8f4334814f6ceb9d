"""The default settings do what they promise on a photograph the sweep never saw.

A 128x128 crop fitted by the defaults (D'OH 28x9 / latent 0.6 / 8 bits, 300 epochs) reaches 20 dB, decodes
to the PSNR that compress printed, the file's size gives the printed bpp, and --scale 2 doubles the size.
(A 128 crop keeps this under half a minute on 2 cores; the 256 crops of docs/fitting.md are benchmarks.)
"""

import json

import numpy as np
import pytest
from PIL import Image

from inrzip.cli import main
from inrzip.metrics import psnr


@pytest.fixture
def crop(shared_data, tmp_path):
    im = Image.open(shared_data / "kodak" / "kodim15.png").convert("RGB")
    w, h = im.size
    path = tmp_path / "crop.png"
    im.crop(((w - 128) // 2, (h - 128) // 2, (w + 128) // 2, (h + 128) // 2)).save(path)
    return path


def test_defaults_reach_20db_on_unseen_crop(crop, tmp_path, capsys):
    out = tmp_path / "crop.inr"
    assert main(["compress", str(crop), "-o", str(out), "--quiet", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["psnr"] >= 20.0, report
    assert report["bpp"] == pytest.approx(8 * out.stat().st_size / 128 ** 2)
    assert (report["config"]["arch"], report["config"]["parameterization"], report["bits"]) == ("28x9", "doh", 8)
    rec = tmp_path / "rec.png"
    assert main(["decompress", str(out), "-o", str(rec)]) == 0
    ref = np.asarray(Image.open(crop)) / 255.0
    assert abs(psnr(np.asarray(Image.open(rec)) / 255.0, ref) - report["psnr"]) < 0.05
    assert main(["decompress", str(out), "-o", str(tmp_path / "big.png"), "--scale", "2"]) == 0
    assert Image.open(tmp_path / "big.png").size == (256, 256)
