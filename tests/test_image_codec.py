"""Images end to end through the public API and the CLI, on small real crops."""

import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import inrzip
from inrzip.cli import main
from inrzip.metrics import psnr
from inrzip.signals.imageio import HOLDS_16, HOLDS_ALPHA, read_image

GOLDEN = Path(__file__).resolve().parent / "golden" / "v1"
FAST = dict(arch="16x2", epochs=15, batch_size=4096, progress=False)


@pytest.fixture(scope="module")
def doh_file(tmp_path_factory):
    src = tmp_path_factory.getbasetemp() / "crop.png"
    shutil.copy(__import__("conftest").DATA / "kodim23_64.png", src)
    enc = inrzip.encode(src, parameterization="doh", latent_ratio=0.6, bits=8, **FAST)
    return src, enc


def test_decoded_file_matches_reported_quality_and_rate(doh_file):
    src, enc = doh_file
    image = inrzip.decompress(enc.data)
    ref = np.asarray(Image.open(src).convert("RGB"))
    assert image.shape == ref.shape and image.dtype == np.uint8
    assert abs(psnr(image / 255.0, ref / 255.0) - enc.report["psnr"]) < 0.05
    assert enc.report["bpp"] == pytest.approx(8 * len(enc.data) / (64 * 64))
    assert enc.report["psnr"] > 15.0  # a real fit, not noise (mean-colour image is ~12 dB here)


def test_decoding_is_deterministic_and_resolution_free(doh_file):
    _, enc = doh_file
    a, b = inrzip.decompress(enc.data), inrzip.decompress(enc.data)
    assert np.array_equal(a, b)
    big = inrzip.decompress(enc.data, scale=2)
    assert big.shape == (128, 128, 3)
    # pixel-area convention: the 2x pixels 2i, 2i+1 sit a quarter pixel either side of pixel i, so a 2x2 box
    # average of the 2x decode is close to the 1x decode (a half-pixel shift would be far off). A sine network
    # varies more inside a pixel than a bicubic kernel (its layers make harmonics of the encoding's frequencies),
    # hence the margin; tests/test_resolution.py checks the positions and the stripes exactly
    def box(x: np.ndarray) -> np.ndarray:
        return x.astype(np.float64).reshape(64, 2, 64, 2, 3).mean(axis=(1, 3))
    bicubic = np.asarray(Image.fromarray(a).resize((128, 128), Image.BICUBIC))
    assert np.abs(box(big) - a).mean() <= 3 * np.abs(box(bicubic) - a).mean()
    shifted = np.asarray(Image.fromarray(a).transform((64, 64), Image.AFFINE, (1, 0, 0.5, 0, 1, 0.5), Image.BILINEAR))
    assert np.abs(box(big) - a).mean() < np.abs(shifted.astype(np.float64) - a).mean()


def test_mlp_and_bit_depths_from_one_fit(data_dir):
    # the weights stored (offsets from the seeded init lose next to nothing at 4 bits: tests/test_seeded_residual.py)
    cfg = inrzip.CompressConfig(arch="16x2", parameterization="mlp", residual=False,
                                fit=inrzip.FitConfig(epochs=15, progress=False))
    outs = inrzip.encode_bits(data_dir / "kodim23_64.png", cfg, [4, 8, 16])
    sizes = [len(e.data) for e in outs]
    assert sizes[0] < sizes[1] < sizes[2]
    assert outs[2].report["psnr"] >= outs[0].report["psnr"]
    assert all(e.report["epochs"] == 15 for e in outs)


@pytest.mark.parametrize("name,channels,depth", [("gray_96x48.png", 1, 8), ("rgba_48x32.png", 4, 8),
                                                 ("gray16_40.png", 1, 16)])
def test_grayscale_alpha_and_16bit_images(data_dir, tmp_path, name, channels, depth):
    pixels, d = read_image(data_dir / name)
    assert pixels.shape[2] == channels and d == depth
    out = tmp_path / "x.inr"
    assert main(["compress", str(data_dir / name), "-o", str(out), "--arch", "12x1", "--epochs", "5", "--quiet",
                 "--mlp"]) == 0
    rec = tmp_path / "rec.png"
    assert main(["decompress", str(out), "-o", str(rec)]) == 0
    back, d2 = read_image(rec)
    assert back.shape == pixels.shape and d2 == depth


def test_cli_compress_info_decompress(tmp_path, data_dir, capsys):
    out = tmp_path / "k.inr"
    assert main(["compress", str(data_dir / "kodim23_64.png"), "-o", str(out), "--arch", "12x2", "--latent", "0.5",
                 "--bits", "6", "--epochs", "5", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "PSNR" in printed and "SSIM" in printed and "bpp" in printed and "estimate" in printed
    assert main(["info", str(out), "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["param"] == "doh" and meta["bits"] == 6 and meta["h"] == 64 and meta["file_bytes"] == out.stat().st_size
    assert main(["decompress", str(out), "-o", str(tmp_path / "big.png"), "--scale", "2"]) == 0
    assert Image.open(tmp_path / "big.png").size == (128, 128)


def _err(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("inrzip: error: "), err
    return err[0]


@pytest.mark.parametrize("content", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40])
def test_bad_images_fail_with_one_line(tmp_path, capsys, content):
    bad = tmp_path / "bad.png"
    bad.write_bytes(content)
    assert main(["compress", str(bad), "-o", str(tmp_path / "o.inr"), "--quiet"]) == 2
    _err(capsys)
    assert not (tmp_path / "o.inr").exists()


def test_absurd_image_size_refused(tmp_path, capsys, data_dir):
    assert main(["compress", str(data_dir / "kodim23_64.png"), "-o", str(tmp_path / "o.inr"),
                 "--max-pixels", "1000"]) == 2
    assert "pixels" in _err(capsys)


def test_bad_inr_files_fail_with_one_line(tmp_path, capsys, doh_file):
    _, enc = doh_file
    cases = {"empty": b"", "truncated": enc.data[:-10], "png": (__import__("conftest").DATA / "kodim23_64.png").read_bytes(),
             "flipped": enc.data[:30] + bytes([enc.data[30] ^ 1]) + enc.data[31:]}
    for name, blob in cases.items():
        f = tmp_path / f"{name}.inr"
        f.write_bytes(blob)
        assert main(["decompress", str(f), "-o", str(tmp_path / "x.png")]) == 2, name
        _err(capsys)
        assert main(["info", str(f)]) == 2, name
        _err(capsys)


def test_usage_errors_are_one_line(capsys, tmp_path):
    assert main(["compress"]) == 2
    _err(capsys)
    assert main(["compress", "x.png", "-o", "y.inr", "--arch", "banana"]) == 2
    _err(capsys)
    assert main(["decompress", str(tmp_path / "missing.inr"), "-o", "x.png"]) == 2
    _err(capsys)


@pytest.mark.parametrize("flags,message", [
    (["--betas", "2", "0.5"], "--betas must be two numbers in [0, 1), e.g. 0.9 0.999, got 2.0 0.5"),
    (["--seed", str(1 << 70)], f"--seed must be an integer of at most 2^62 in size, got {1 << 70}"),
    (["--target-psnr", "-3"], "--target-psnr must be a positive number, got -3.0"),
    (["--pe-freqs", "-1"], "--pe-freqs must be 0 or more, got -1"),
    (["--warmup-epochs", "-1"], "--warmup-epochs must be 0 or more, got -1"),
    (["--step-lr", "0"], "--step-lr must be a positive number, got 0.0"),
])
def test_out_of_range_options_are_refused_before_fitting(tmp_path, capsys, data_dir, flags, message):
    """Each out-of-range option is one line naming it, and nothing is written (before: a traceback for the betas
    and the seed, the seed after a whole fit; silence for the others)."""
    out = tmp_path / "x.inr"
    assert main(["compress", str(data_dir / "kodim23_64.png"), "-o", str(out), "--epochs", "1", "--quiet", *flags]) == 2
    assert _err(capsys) == f"inrzip: error: {message}"
    assert not out.exists()


def test_paper_preset_is_the_supplements_settings(data_dir):
    from inrzip.api import CompressConfig, FitConfig, load, resolve

    image = load(data_dir / "kodim23_64.png")
    cfg = resolve(CompressConfig(parameterization="doh", preset="paper"), image)
    assert (cfg.fit.epochs, cfg.fit.batch_size, cfg.fit.lr, cfg.fit.loss, cfg.fit.gamma, cfg.doh_init) == (
        2000, 1024, 1e-6, "mse", 0.999, "doh")
    mlp = resolve(CompressConfig(parameterization="mlp", preset="paper"), image)
    assert (mlp.fit.lr, mlp.fit.betas, mlp.pe) == (2e-4, (0.99, 0.999), False)  # the papers' recipe
    assert resolve(CompressConfig(doh_init="siren", preset="paper"), image).doh_init == "siren"  # an explicit choice stays
    mine = resolve(CompressConfig(preset="paper", fit=FitConfig(epochs=50)), image)
    assert (mine.fit.epochs, mine.fit.batch_size) == (50, 1024)  # flags the user gives win over the preset


def test_cli_bf16_precision_fits_and_refuses_the_reference_engine(tmp_path, data_dir, capsys):
    src, out = data_dir / "kodim23_64.png", tmp_path / "b.inr"
    assert main(["compress", str(src), "-o", str(out), "--arch", "12x2", "--epochs", "5", "--quiet",
                 "--precision", "bf16"]) == 0
    assert main(["decompress", str(out), "-o", str(tmp_path / "b.png")]) == 0
    capsys.readouterr()
    assert main(["compress", str(src), "-o", str(tmp_path / "r.inr"), "--epochs", "2", "--quiet",
                 "--precision", "bf16", "--engine", "reference"]) == 2
    err = capsys.readouterr().err.strip()
    assert "fast or compiled" in err and len(err.splitlines()) == 1


_FORMATS = ("png", "tif", "tiff", "bmp", "webp", "ppm", "pgm", "tga", "jpg", "jpeg", "gif")


@pytest.mark.parametrize("channels,dtype", [(2, np.uint8), (4, np.uint8), (1, np.uint16)])
def test_format_tables_are_what_pillow_writes_and_reads_back(channels, dtype):
    """The writer's tables (which formats keep an alpha channel, which 16 bits) against Pillow itself: a random
    image written in each format must come back exact where the table says the format holds it (the lossy
    codecs aside: their alpha or depth is checked, not their pixels)."""

    a = np.random.default_rng(channels).integers(0, 256 if dtype == np.uint8 else 65536, (8, 8, channels)).astype(dtype)
    holds = HOLDS_ALPHA if channels in (2, 4) else HOLDS_16[1]
    for fmt in _FORMATS:
        buf = io.BytesIO()
        try:
            Image.fromarray(a[..., 0] if channels == 1 else a).save(buf, format=Image.registered_extensions()[f".{fmt}"])
            buf.seek(0)
            back = np.asarray(Image.open(buf))
        except (OSError, ValueError, KeyError):
            back = None
        back = back[..., None] if back is not None and back.ndim == 2 else back
        if fmt == "webp" and channels in (2, 4):  # a lossy codec: its pixels are not exact, its alpha is (LA as RGBA)
            kept = back is not None and back.shape[2] in (2, 4) and np.array_equal(back[..., -1], a[..., -1])
            assert kept == (fmt in holds), fmt
            continue
        exact = back is not None and back.shape == a.shape and np.array_equal(back.astype(np.int64), a.astype(np.int64))
        assert exact == (fmt in holds), fmt


@pytest.mark.parametrize("channels", [2, 3, 4])
def test_16bit_colour_is_written_and_read_back_at_16_bits_where_the_table_says(tmp_path, channels):
    """16-bit colour (which Pillow cannot hold) through inrzip's own writer and reader, every format: exact at 16
    bits where ``HOLDS_16`` says the format holds it, else 8 bits rounded from the 16 (the lossless formats' samples
    within half a level), or refused where the format would drop the alpha channel."""
    from inrzip.errors import InputError
    from inrzip.signals.image import ImageSignal

    a = np.random.default_rng(channels).integers(0, 65536, (6, 9, channels)).astype(np.uint16)
    for fmt in _FORMATS:
        path = tmp_path / f"x{channels}.{fmt}"
        if channels in (2, 4) and fmt not in HOLDS_ALPHA:
            with pytest.raises(InputError, match="alpha channel"):
                ImageSignal.save(a, path, {})
            continue
        ImageSignal.save(a, path, {})
        pixels, depth = read_image(path)
        if fmt in HOLDS_16[channels]:
            assert depth == 16 and np.array_equal(np.rint(pixels * 65535).astype(np.uint16), a), fmt
            continue
        assert depth == 8, fmt
        if fmt not in ("webp", "jpg", "jpeg", "gif"):  # lossy or paletted: their depth is checked, not their pixels
            assert pixels.shape == a.shape and np.abs(pixels * 255 - a / 257).max() <= 0.5 + 1e-3, fmt


def test_16bit_colour_files_keep_16_bits_from_compress_to_decompress(data_dir, tmp_path, capsys):
    """A 16-bit RGB PNG (written by imagecodecs: Pillow cannot) compresses to a 16-bit file and decodes to a 16-bit
    PNG; into an 8-bit format the decode is rounded and says so."""
    import imagecodecs

    with Image.open(data_dir / "kodim23_64.png") as im:
        rgb = np.asarray(im.convert("RGB").resize((24, 16))).astype(np.uint16) * 257 + 100
    src = tmp_path / "rgb16.png"
    src.write_bytes(imagecodecs.png_encode(rgb))
    inr = tmp_path / "rgb16.inr"
    assert main(["compress", str(src), "-o", str(inr), "--arch", "8x1", "--epochs", "3", "--quiet"]) == 0
    head = inrzip.info(inr.read_bytes())
    assert (head["c"], head["depth"]) == (3, 16)
    assert main(["decompress", str(inr), "-o", str(tmp_path / "back.png"), "--quiet"]) == 0
    assert main(["decompress", str(inr), "-o", str(tmp_path / "back.npy"), "--quiet"]) == 0
    back, depth = read_image(tmp_path / "back.png")
    assert depth == 16 and np.array_equal(np.rint(back * 65535).astype(np.uint16), np.load(tmp_path / "back.npy"))
    capsys.readouterr()
    assert main(["decompress", str(inr), "-o", str(tmp_path / "back.bmp")]) == 0
    assert "(written at 8 bits per sample: .bmp holds no more)" in capsys.readouterr().out


def test_decoding_into_a_format_that_cannot_hold_the_image(tmp_path, capsys):
    """Alpha into a BMP is refused before decoding (one line, the user's words, no file); 16-bit grayscale into
    an 8-bit format is written at 8 bits (rounded, not clipped to white) and says so."""
    rgba, gray16 = GOLDEN / "rgba_doh_minmax8.inr", GOLDEN / "gray16_mlp_minmax10.inr"
    out = tmp_path / "a.bmp"
    assert main(["decompress", str(rgba), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["inrzip: error: an 8-bit RGBA image has an alpha channel that .bmp would drop; write .png, .tga, "
                   ".tif, .tiff, .webp or .npy"]
    assert not out.exists() and not list(tmp_path.iterdir())
    assert main(["decompress", str(gray16), "-o", str(tmp_path / "g.png")]) == 0
    for fmt in ("gif", "bmp", "webp"):
        assert main(["decompress", str(gray16), "-o", str(tmp_path / f"g.{fmt}")]) == 0
        assert f"(written at 8 bits per sample: .{fmt} holds no more)" in capsys.readouterr().out
    sixteen = np.asarray(Image.open(tmp_path / "g.png")).astype(np.float64)
    assert sixteen.max() > 255  # the reference really is 16-bit
    for fmt, tol in (("gif", 0.5), ("bmp", 0.5), ("webp", 16)):  # WebP is a lossy codec
        eight = np.asarray(Image.open(tmp_path / f"g.{fmt}").convert("L")).astype(np.float64)
        assert np.abs(eight - sixteen / 257).max() <= tol, fmt


def test_an_array_is_an_image_source(data_dir, tmp_path):
    """A uint8 array compresses to the very file its PNG gives (the same pixels, the same deterministic fit); a
    uint16 array is a 16-bit image, floats in [0, 1] an 8-bit one; a caller's mistakes are one InputError each."""
    from inrzip.errors import InputError

    pixels = np.asarray(Image.open(data_dir / "kodim23_64.png").convert("RGB"))
    settings = dict(arch="8x1", epochs=2, progress=False)
    assert inrzip.encode(pixels, **settings).data == inrzip.encode(data_dir / "kodim23_64.png", **settings).data
    gray16 = (pixels[..., 0].astype(np.uint16) * 257)
    head = inrzip.info(inrzip.compress(gray16, **settings))
    assert (head["h"], head["w"], head["c"], head["depth"]) == (64, 64, 1, 16)
    assert inrzip.info(inrzip.compress(pixels / 255.0, **settings))["depth"] == 8
    for bad, words in [(pixels.transpose(2, 0, 1), "move its channels last"), (pixels * 1.0, "must lie in [0, 1]"),
                       (pixels.astype(np.int32), "uint8, uint16, or floats"), (np.full((4, 4), np.nan), "NaN"),
                       (np.zeros((4, 4, 5)), "C 1-4")]:
        with pytest.raises(InputError, match=re.escape(words)):
            inrzip.encode(bad, **settings)


def test_the_decoders_take_a_path_or_the_bytes():
    """``inrzip.decompress("x.inr")`` reads the file (it used to decode the path's own characters and call them
    "not an inrzip file"); any other type is a TypeError naming what is expected."""
    from inrzip.errors import InputError

    path = GOLDEN / "image_mlp_minmax8.inr"
    data = path.read_bytes()
    assert np.array_equal(inrzip.decompress(str(path)), inrzip.decompress(data))
    assert np.array_equal(inrzip.decompress(path), inrzip.decompress(bytearray(data)))
    assert inrzip.info(path) == inrzip.info(data)
    with pytest.raises(TypeError, match="its bytes or its path, not int"):
        inrzip.decompress(123)
    with pytest.raises(InputError, match="no such file"):
        inrzip.info(GOLDEN / "missing.inr")


def test_api_settings_of_the_wrong_type_are_named(data_dir):
    """``arch=(28, 9)``, ``lr="1e-3"`` or ``epochs=2.5`` were an AttributeError or TypeError from deep inside;
    now one InrzipError naming the setting. NumPy numbers are numbers (a header stores them as Python's)."""
    from inrzip.errors import InrzipError

    src = data_dir / "kodim23_64.png"
    for kw, words in [(dict(arch=(28, 9)), "arch must be a string, got tuple (28, 9)"),
                      (dict(lr="1e-3"), "lr must be a number, got str '1e-3'"),
                      (dict(epochs=2.5), "epochs must be an integer, got float 2.5"),
                      (dict(qat=1), "qat must be True or False, got int 1"),
                      (dict(betas=(0.9, "x")), "betas must be a pair of numbers")]:
        with pytest.raises(InrzipError, match=re.escape(words)):
            inrzip.encode(src, **{"epochs": 1, **kw})
    enc = inrzip.encode(src, arch="8x1", epochs=np.int64(1), bits=np.int64(6), lr=np.float32(1e-3), progress=False)
    assert inrzip.info(enc.data)["bits"] == 6 and type(enc.report["config"]["bits"]) is int


def test_the_api_refuses_a_size_option_the_kind_has_no_use_for():
    """The check lives in ``api.decode``, so a Python caller gets it as the command line does: ``resolution`` on an
    image was silently ignored."""
    from inrzip.errors import InrzipError

    with pytest.raises(InrzipError, match=re.escape("--resolution does not apply to image files (they take --scale)")):
        inrzip.decompress(GOLDEN / "image_mlp_minmax8.inr", resolution=64)
    with pytest.raises(InrzipError, match=re.escape("--scale does not apply to occupancy files")):
        inrzip.decompress(GOLDEN / "occupancy_mlp_kmeans5.inr", scale=2)
    assert inrzip.decompress(GOLDEN / "occupancy_mlp_kmeans5.inr", resolution=16, force=True).shape == (16, 16, 16)
