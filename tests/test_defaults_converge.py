"""The default settings do what the issue promises on a photograph the sweep never saw.

A 256x256 crop fitted by D'OH 28x9 / latent 0.6 / 8 bits for 300 epochs reaches 20 dB, decodes to the
PSNR that compress printed, the file's size gives the printed bpp, and --scale 2 doubles the size.
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
    im.crop(((w - 256) // 2, (h - 256) // 2, (w + 256) // 2, (h + 256) // 2)).save(path)
    return path


def test_doh_defaults_reach_20db_on_unseen_crop(crop, tmp_path, capsys):
    out = tmp_path / "crop.inr"
    assert main(["compress", str(crop), "-o", str(out), "--arch", "28x9", "--latent", "0.6", "--bits", "8",
                 "--epochs", "300", "--quiet", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["psnr"] >= 20.0, report
    assert report["bpp"] == pytest.approx(8 * out.stat().st_size / 256 ** 2)
    rec = tmp_path / "rec.png"
    assert main(["decompress", str(out), "-o", str(rec)]) == 0
    ref = np.asarray(Image.open(crop)) / 255.0
    assert abs(psnr(np.asarray(Image.open(rec)) / 255.0, ref) - report["psnr"]) < 0.05
    assert main(["decompress", str(out), "-o", str(tmp_path / "big.png"), "--scale", "2"]) == 0
    assert Image.open(tmp_path / "big.png").size == (512, 512)
