"""Classical codecs through their real encoders on a real Kodak crop."""

from __future__ import annotations

import numpy as np
import pytest

from inrzip.bench.codecs import CODECS, available_codecs, get_codec, load_rgb, sweep_codec
from inrzip.errors import InputError


@pytest.fixture
def crop(shared_data) -> np.ndarray:
    path = shared_data / "kodak" / "kodim23.png"
    return np.ascontiguousarray(load_rgb(str(path))[200:264, 300:396])  # 64x96, a real photo patch


@pytest.mark.parametrize("name", sorted(CODECS))
def test_codec_round_trip_and_rate_from_real_bytes(name, crop):
    if not CODECS[name].available():
        pytest.skip(f"{name} not available on this machine")
    codec = get_codec(name)
    q_lo, q_hi = codec.qualities[1], codec.qualities[-2]
    rows = sweep_codec(name, crop, (q_lo, q_hi))
    for r, q in zip(rows, (q_lo, q_hi)):
        data = codec.encode(crop, q)
        assert r["bytes"] == len(data) > 0
        assert r["bpp"] == pytest.approx(len(data) * 8 / (64 * 96))
        assert codec.decode(data).shape == crop.shape and codec.decode(data).dtype == np.uint8
        assert 10 < r["psnr"] < 80 and 0 < r["ssim"] <= 1
    assert rows[1]["bpp"] > rows[0]["bpp"] and rows[1]["psnr"] > rows[0]["psnr"]  # more rate, more quality


def test_unknown_codec_is_a_user_error():
    with pytest.raises(InputError, match="unknown codec"):
        get_codec("bpg-real")
    with pytest.raises(InputError, match="unknown codec"):
        available_codecs(["jpeg", "nope"])


def test_unavailable_codec_is_skipped_with_a_message(monkeypatch, capsys):
    monkeypatch.setattr(CODECS["jpegxl"], "available", classmethod(lambda cls: False))
    assert "jpegxl" not in available_codecs(["jpeg", "jpegxl"])
    assert "skipping codec 'jpegxl'" in capsys.readouterr().out
    with pytest.raises(InputError, match="not available"):
        get_codec("jpegxl")
