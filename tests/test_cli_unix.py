"""The command line behaves like the Unix tools beside it: ``-`` is standard input, ``-o -`` standard output,
an existing output is never overwritten without ``--force``, a failed or killed ``compress`` leaves no file
under the output name, and a size over a limit is refused naming the flag that raises it."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import default_ctrl_c
from PIL import Image

import inrzip
from inrzip.cli import main

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "v1"
IMAGE = GOLDEN / "image_mlp_minmax8.inr"
GRAY16 = GOLDEN / "gray16_mlp_minmax10.inr"
OCCUPANCY = GOLDEN / "occupancy_mlp_kmeans5.inr"
RADIANCE = GOLDEN / "radiance_mlp_minmax8.inr"
CROP = ROOT / "tests" / "data" / "kodim23_64.png"
FAST = ["--arch", "8x1", "--epochs", "1", "--quiet"]


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("inrzip: error: "), err
    return err[0]


def _stdin(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


# ---- standard input and output ------------------------------------------------------------------

def test_decompress_to_stdout_writes_png_by_default(capsysbinary):
    assert main(["decompress", str(IMAGE), "-o", "-"]) == 0
    captured = capsysbinary.readouterr()
    assert captured.out.startswith(b"\x89PNG")
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(captured.out))), inrzip.decompress(IMAGE.read_bytes()))
    assert b"image 64x64x3" in captured.err  # the message goes to stderr, stdout carries only the data


@pytest.mark.parametrize("path,fmt", [(IMAGE, "npy"), (GRAY16, "npy"), (OCCUPANCY, None), (RADIANCE, None)])
def test_decompress_to_stdout_as_npy(capsysbinary, path, fmt):
    argv = ["decompress", str(path), "-o", "-"] + (["--format", fmt] if fmt else [])  # default npy: grids, views
    assert main(argv) == 0
    got = np.load(io.BytesIO(capsysbinary.readouterr().out), allow_pickle=False)
    assert np.array_equal(got, inrzip.decode(path.read_bytes(), progress=False)[1])


def test_decompress_and_info_read_stdin(monkeypatch, capsys, tmp_path):
    _stdin(monkeypatch, IMAGE.read_bytes())
    assert main(["info", "-", "--json"]) == 0
    assert '"kind": "image"' in capsys.readouterr().out
    _stdin(monkeypatch, IMAGE.read_bytes())
    assert main(["decompress", "-", "-o", str(tmp_path / "x.png")]) == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "x.png")), inrzip.decompress(IMAGE.read_bytes()))
    _stdin(monkeypatch, b"INRZ\x01 not really")
    assert main(["info", "-"]) == 2
    _one_line_error(capsys)


def test_stdin_over_the_file_limit_is_refused(monkeypatch, capsys):
    _stdin(monkeypatch, IMAGE.read_bytes())
    assert main(["info", "-", "--max-file-bytes", "100"]) == 2
    assert "--max-file-bytes" in _one_line_error(capsys)


def test_a_real_pipe_through_stdin_and_stdout(tmp_path):
    """``inrzip decompress - -o - < file > out.png`` in a shell, the way it is used."""
    out = subprocess.run([sys.executable, "-m", "inrzip.cli", "decompress", "-", "-o", "-"],
                         stdin=IMAGE.open("rb"), capture_output=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(out.stdout))), inrzip.decompress(IMAGE.read_bytes()))


def test_format_flag_and_bad_formats(tmp_path, capsys):
    assert main(["decompress", str(IMAGE), "-o", str(tmp_path / "weird.bin"), "--format", "png"]) == 0
    assert (tmp_path / "weird.bin").read_bytes().startswith(b"\x89PNG")
    capsys.readouterr()
    assert main(["decompress", str(IMAGE), "-o", str(tmp_path / "noext")]) == 2
    assert "--format" in _one_line_error(capsys)
    assert main(["decompress", str(OCCUPANCY), "-o", "-", "--format", "png"]) == 2
    assert "npy, ply" in _one_line_error(capsys)
    assert main(["decompress", str(RADIANCE), "-o", "-", "--format", "folder"]) == 2
    assert "folder" in _one_line_error(capsys)


def test_compress_to_stdout(capsysbinary):
    assert main(["compress", str(CROP), "-o", "-", *FAST]) == 0
    captured = capsysbinary.readouterr()
    assert captured.out[:4] == b"INRZ" and inrzip.info(captured.out)["h"] == 64
    assert b"PSNR" in captured.err


# ---- never overwrite without --force ------------------------------------------------------------

def test_compress_refuses_an_existing_output_before_fitting(tmp_path, capsys):
    out = tmp_path / "k.inr"
    out.write_bytes(b"precious")
    t0 = time.perf_counter()
    assert main(["compress", str(CROP), "-o", str(out), "--arch", "8x1", "--epochs", "100000", "--quiet"]) == 2
    assert time.perf_counter() - t0 < 10  # refused at once, not after the fit (the check has no clock)
    assert "--force" in _one_line_error(capsys)
    assert out.read_bytes() == b"precious"
    assert main(["compress", str(CROP), "-o", str(out), *FAST, "--force"]) == 0
    assert out.read_bytes()[:4] == b"INRZ"
    assert out.stat().st_mode & 0o777 == 0o666 & ~_umask()  # the usual mode, not the temporary file's 0600
    assert [p.name for p in tmp_path.iterdir()] == ["k.inr"]  # no temporary file left behind


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_decompress_refuses_an_existing_output(tmp_path, capsys):
    out = tmp_path / "x.png"
    out.write_bytes(b"precious")
    assert main(["decompress", str(IMAGE), "-o", str(out)]) == 2
    assert "--force" in _one_line_error(capsys)
    assert out.read_bytes() == b"precious"
    assert main(["decompress", str(IMAGE), "-o", str(out), "-f"]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")
    folder = tmp_path / "folder.png"
    folder.mkdir()
    assert main(["decompress", str(IMAGE), "-o", str(folder), "--force"]) == 2
    assert "is a folder" in _one_line_error(capsys) and folder.is_dir()


def test_missing_output_folder_fails_before_fitting(tmp_path, capsys):
    assert main(["compress", str(CROP), "-o", str(tmp_path / "no" / "k.inr"), *FAST]) == 2
    assert "does not exist" in _one_line_error(capsys)


def test_a_failed_compress_leaves_no_file(tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    assert main(["compress", str(bad), "-o", str(tmp_path / "o.inr"), *FAST]) == 2
    _one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.png"]


@pytest.mark.parametrize("sig,status", [(signal.SIGKILL, -9), (signal.SIGINT, 130)])
def test_killing_compress_during_the_fit_leaves_no_file(tmp_path, sig, status):
    """``kill -9`` (or Ctrl-C) while fitting: nothing under the output name, no stray temporary file; an old
    output replaced with --force is still the old one."""
    out = tmp_path / "k.inr"
    out.write_bytes(b"old file")
    proc = subprocess.Popen([sys.executable, "-m", "inrzip.cli", "compress", str(CROP), "-o", str(out), "--force",
                             "--arch", "8x1", "--epochs", "1000000", "--threads", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=default_ctrl_c)
    seen = b""
    while b"it/s" not in seen and b"epoch" not in seen and proc.poll() is None:  # the progress bar: fitting
        seen += os.read(proc.stderr.fileno(), 4096)
    proc.send_signal(sig)
    try:  # read what it still prints: a child blocked writing to a full pipe would never exit
        rest = proc.communicate(timeout=120)[1]
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"no exit 120 s after {sig.name}; it printed: {(seen + proc.communicate()[1])[-2000:]!r}")
    assert proc.returncode == status, rest[-2000:]
    assert out.read_bytes() == b"old file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.inr"]


# ---- limits name their flags --------------------------------------------------------------------

def test_decode_sizes_over_the_limits_name_the_flag(tmp_path, capsys):
    cases = [
        (["decompress", str(IMAGE), "-o", str(tmp_path / "a.png"), "--scale", "2000"], "--max-pixels"),
        (["decompress", str(IMAGE), "-o", str(tmp_path / "a.png"), "--max-macs", "1000"], "--max-macs"),
        (["decompress", str(IMAGE), "-o", str(tmp_path / "a.png"), "--max-weights", "10"], "--max-weights"),
        (["decompress", str(IMAGE), "-o", str(tmp_path / "a.png"), "--max-params", "10"], "--max-params"),
        (["decompress", str(OCCUPANCY), "-o", str(tmp_path / "a.npy"), "--resolution", "2048"], "--max-resolution"),
        (["decompress", str(OCCUPANCY), "-o", str(tmp_path / "a.npy"), "--max-resolution", "8"], "--max-resolution"),
        (["decompress", str(GOLDEN / "image_doh_doh_minmax5.inr"), "-o", str(tmp_path / "a.png"),
          "--max-generator-work", "1000"], "--max-generator-work"),
        (["render", str(RADIANCE), "-o", str(tmp_path / "o.gif"), "--orbit", "5000"], "--max-orbit"),
        (["render", str(RADIANCE), "-o", str(tmp_path / "o.gif"), "--scale", "8", "--max-pixels", "10000"],
         "--max-pixels"),
        (["info", str(IMAGE), "--max-file-bytes", "10"], "--max-file-bytes"),
    ]
    for argv, flag in cases:
        assert main(argv) == 2, argv
        assert flag in _one_line_error(capsys), argv
    assert not any(tmp_path.iterdir())


def test_render_to_stdout_and_from_stdin(monkeypatch, capsysbinary):
    _stdin(monkeypatch, RADIANCE.read_bytes())
    assert main(["render", "-", "-o", "-", "--quiet"]) == 0
    views = np.load(io.BytesIO(capsysbinary.readouterr().out), allow_pickle=False)
    assert views.shape == (2, 16, 16, 3)


def test_json_report_is_strict_json_when_a_metric_is_undefined(tmp_path, capsys):
    """SSIM is undefined under 11 pixels a side: the JSON report says null (RFC 8259 has no NaN, and strict
    parsers refuse it), the text report n/a."""
    src = tmp_path / "strip.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (4, 40, 3), dtype=np.uint8)).save(src)
    assert main(["compress", str(src), "-o", str(tmp_path / "a.inr"), *FAST, "--json"]) == 0
    text = capsys.readouterr().out
    assert "NaN" not in text

    def refuse(constant: str) -> None:
        raise ValueError(constant)
    report = json.loads(text, parse_constant=refuse)
    assert report["ssim"] is None and report["float_ssim"] is None
    assert isinstance(report["psnr"], float) and report["psnr"] > 0
    assert main(["compress", str(src), "-o", str(tmp_path / "b.inr"), *FAST]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "SSIM n/a" in lines[0] and "nan" not in lines[0].lower().replace("n/a", "")


def test_a_file_no_smaller_than_the_raw_pixels_says_so(tmp_path):
    """The default network is sized for photographs: on a tiny image the report says the file does not pay, and
    on a photograph crop it says nothing of the kind."""
    tiny = tmp_path / "icon.png"
    Image.fromarray(np.full((6, 6, 3), 90, dtype=np.uint8)).save(tiny)
    small = inrzip.encode(str(tiny), arch="8x1", epochs=1)
    note = [e for e in small.report["fit_events"] if "raw samples" in e]
    assert small.report["file_bytes"] >= 6 * 6 * 3
    assert note == [f"the file ({small.report['file_bytes']} B) is not smaller than the raw samples (108 B): the "
                    "network is sized for photographs; for a small image give --bpp (the network is sized for the "
                    "rate) or a smaller --arch"]
    photo = inrzip.encode(str(CROP), arch="8x1", epochs=1)
    assert photo.report["file_bytes"] < 64 * 64 * 3
    assert not any("raw samples" in e for e in photo.report["fit_events"])


def test_a_decode_option_the_kind_has_no_use_for_is_refused(tmp_path, capsys):
    """--resolution on an image and --scale on an occupancy grid were ignored without a word; now each is one line
    naming what the kind takes, before decoding, and nothing is written."""
    out = tmp_path / "x.png"
    assert main(["decompress", str(IMAGE), "-o", str(out), "--resolution", "64"]) == 2
    assert _one_line_error(capsys) == "inrzip: error: --resolution does not apply to image files (they take --scale)"
    assert main(["decompress", str(OCCUPANCY), "-o", str(tmp_path / "g.npy"), "--scale", "2"]) == 2
    assert _one_line_error(capsys) == "inrzip: error: --scale does not apply to occupancy files (they take --resolution)"
    assert not list(tmp_path.iterdir())
    assert main(["decompress", str(IMAGE), "-o", str(out), "--scale", "2"]) == 0
    assert main(["decompress", str(OCCUPANCY), "-o", str(tmp_path / "g.npy"), "--resolution", "16"]) == 0
    assert np.load(tmp_path / "g.npy").shape == (16, 16, 16)


def test_the_input_itself_is_never_the_output(tmp_path, capsys):
    """``compress photo.png -o photo.png -f`` replaced the photograph by its .inr file; the output naming the
    input (by any path: a link too) is refused before any work, --force or not, and the input stays as it was."""
    photo = tmp_path / "photo.png"
    photo.write_bytes(CROP.read_bytes())
    (tmp_path / "link.png").symlink_to(photo)
    for out in (photo, tmp_path / "link.png", tmp_path / "." / "photo.png"):
        assert main(["compress", str(photo), "-o", str(out), "-f", *FAST]) == 2
        assert _one_line_error(capsys) == f"inrzip: error: {out} is the input itself; write the output under another name"
    assert photo.read_bytes() == CROP.read_bytes()
    copy = tmp_path / "image.inr"
    copy.write_bytes(IMAGE.read_bytes())
    assert main(["decompress", str(copy), "-o", str(copy), "--format", "png", "-f"]) == 2
    assert "is the input itself" in _one_line_error(capsys)
    assert copy.read_bytes() == IMAGE.read_bytes()


def test_an_mp4_without_its_writer_is_refused_before_the_render(tmp_path, capsys, monkeypatch):
    """Without the optional imageio-ffmpeg, an MP4 output is one line naming the install, before any rendering
    (it used to come after the render, naming a temporary file)."""
    import builtins

    real_import = builtins.__import__

    def no_ffmpeg(name, *args, **kwargs):
        if name == "imageio_ffmpeg":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ffmpeg)
    rendered = []
    from inrzip.cli import render as render_cli

    monkeypatch.setattr(render_cli, "decode", lambda *a, **k: rendered.append(1))
    for command in (["render", str(RADIANCE), "-o", str(tmp_path / "o.mp4"), "--orbit", "3"],
                    ["decompress", str(RADIANCE), "-o", str(tmp_path / "o.mp4")]):
        assert main(command) == 2
        assert _one_line_error(capsys) == ("inrzip: error: writing MP4 needs `pip install imageio imageio-ffmpeg`; or "
                                           "write a .gif")
    assert not rendered and not list(tmp_path.iterdir())


def test_compress_reads_an_image_from_standard_input(monkeypatch, tmp_path, capsys):
    """``cat photo.png | inrzip compress - -o x.inr`` writes the file the path gives (the format is recognised
    from the bytes); what is not an image, and an image's own errors, are one line naming standard input."""
    assert main(["compress", str(CROP), "-o", str(tmp_path / "path.inr"), *FAST]) == 0
    _stdin(monkeypatch, CROP.read_bytes())
    assert main(["compress", "-", "-o", str(tmp_path / "pipe.inr"), *FAST]) == 0
    assert (tmp_path / "pipe.inr").read_bytes() == (tmp_path / "path.inr").read_bytes()
    capsys.readouterr()
    _stdin(monkeypatch, b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    assert main(["compress", "-", "-o", str(tmp_path / "mesh.inr"), *FAST]) == 2
    assert _one_line_error(capsys) == ("inrzip: error: standard input is not an image inrzip can read; meshes and NeRF "
                                       "scenes are given as a path")
    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "blue")]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:])
    _stdin(monkeypatch, gif.getvalue())
    assert main(["compress", "-", "-o", str(tmp_path / "gif.inr"), *FAST]) == 2
    assert _one_line_error(capsys).startswith("inrzip: error: standard input: an animated image")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["path.inr", "pipe.inr"]


def test_several_sources_into_a_folder(tmp_path, capsys):
    """``compress a.png b.png bad.png -o folder``: one STEM.inr each, byte-equal to compressing each alone; a
    source that fails is one error line and the others are written (status 2); outputs are checked first."""
    folder, alone = tmp_path / "out", tmp_path / "alone.inr"
    folder.mkdir()
    gray = tmp_path / "gray.png"
    Image.open(CROP).convert("L").save(gray)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    assert main(["compress", str(CROP), str(bad), str(gray), "-o", str(folder), *FAST]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"inrzip: error: {bad}: not a readable image", "inrzip: 1 of 3 sources failed; the others are written"]
    assert sorted(p.name for p in folder.iterdir()) == ["gray.inr", "kodim23_64.inr"]
    for src in (CROP, gray):
        assert main(["compress", str(src), "-o", str(alone), "-f", *FAST]) == 0
        assert (folder / f"{src.stem}.inr").read_bytes() == alone.read_bytes()
    capsys.readouterr()
    # every output is checked before the first fit: one taken name stops them all
    assert main(["compress", str(gray), str(CROP), "-o", str(folder), *FAST]) == 2
    assert _one_line_error(capsys) == f"inrzip: error: {folder / 'gray.inr'} already exists; use --force to overwrite it"
    assert main(["compress", str(gray), str(gray), "-o", str(folder), "-f", *FAST]) == 2
    assert "would both be written" in _one_line_error(capsys)
    assert main(["compress", str(gray), str(CROP), "-o", str(alone), *FAST]) == 2
    assert "names an existing folder" in _one_line_error(capsys)
    assert main(["compress", str(gray), str(CROP), "-o", str(folder), "-f", "--json", *FAST]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert [r["source"] for r in reports] == [str(gray), str(CROP)] and all(r["psnr"] > 0 for r in reports)
