"""Hostile and unusual sources: every kind is a clear one-line error or a documented behaviour
(docs/hostile-inputs.md), never a traceback, a warning or a huge allocation. Images are made with Pillow
from the small real crop in tests/data; meshes and scenes are edited copies of the ones there."""

from __future__ import annotations

import json
import shutil
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inrzip.cli import main
from inrzip.errors import InputError
from inrzip.signals.image import read_image

DATA = Path(__file__).resolve().parent / "data"
CROP = DATA / "kodim23_64.png"
FAST = ["--arch", "8x1", "--epochs", "1", "--quiet"]


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("inrzip: error: "), err
    return err[0]


def _compress_fails(capsys, source: Path, tmp_path: Path, *extra: str) -> str:
    """``inrzip compress`` refuses with one line, exit status 2, no output file, no Python warning."""
    out = tmp_path / "out.inr"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["compress", str(source), "-o", str(out), *FAST, *extra]) == 2
    assert not out.exists()
    return _one_line_error(capsys)


def _png(path: Path, w: int, h: int, depth: int, colour: int, rows: bytes) -> Path:
    """A PNG written chunk by chunk (to make ones Pillow would not write: bombs, 16-bit colour)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return path


def _crop(size: tuple[int, int] = (24, 16)) -> np.ndarray:
    with Image.open(CROP) as im:
        return np.asarray(im.convert("RGB").resize(size))


# ---- images -------------------------------------------------------------------------------------

def test_decompression_bombs_are_refused_before_decoding(tmp_path, capsys):
    bomb = _png(tmp_path / "bomb.png", 20000, 20000, 8, 2, b"")  # 400 MP claimed by a 60-byte file
    err = _compress_fails(capsys, bomb, tmp_path)  # over Pillow's own check (179 MP) too
    assert "decompression bomb" in err and "--max-pixels" in err
    big = _png(tmp_path / "big.png", 9000, 9000, 8, 0, b"\x00" * 10)  # 81 MP: over inrzip's default 67 MP
    err = _compress_fails(capsys, big, tmp_path)
    assert "9000x9000" in err and "--max-pixels" in err
    err = _compress_fails(capsys, big, tmp_path, "--max-pixels", str(10 ** 8))  # allowed, but its data is missing
    assert "cannot read image" in err


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_images_are_one_line_errors(tmp_path, capsys, fmt):
    full = tmp_path / f"full.{fmt.lower()}"
    Image.fromarray(_crop()).save(full, fmt)
    cut = tmp_path / f"cut.{fmt.lower()}"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    assert "cannot read image" in _compress_fails(capsys, cut, tmp_path)


def test_16bit_gray_and_colour_keep_16_bits(tmp_path):
    """Pillow decodes 16-bit colour PNGs at 8 bits (and a 16-bit gray + alpha one as RGBA): they are read beside it,
    every sample exact, with the channels the file has."""
    gray, depth = read_image(DATA / "gray16_40.png")
    assert depth == 16 and gray.shape[2] == 1
    for colour, channels in ((2, 3), (6, 4), (4, 2)):  # PNG colour types: RGB, RGBA, gray + alpha
        samples = (np.arange(4 * 3 * channels).reshape(3, 4, channels) * 1500 + 7).astype(">u2")
        rows = b"".join(b"\x00" + samples[r].tobytes() for r in range(3))
        pixels, depth = read_image(_png(tmp_path / f"c{colour}.png", 4, 3, 16, colour, rows))
        assert depth == 16 and pixels.shape == (3, 4, channels)
        assert np.array_equal(np.rint(pixels * 65535).astype(np.int64), samples.astype(np.int64))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_tiff_orientation_is_applied_once_at_8_and_16_bits(tmp_path, orientation):
    """Pillow turns a TIFF upright as it loads it (and drops the tag); the reader used to turn it again. Now an 8-bit
    TIFF is what Pillow's own ``exif_transpose`` shows, and the 16-bit one (read by tifffile, turned by the reader)
    the same picture at 16 bits; a planar (one plane per channel) 16-bit TIFF reads the same."""
    import tifffile
    from PIL import ImageOps

    a = np.random.default_rng(orientation).integers(0, 65536, (5, 7, 3)).astype(np.uint16)
    tag = [(274, "H", 1, orientation, True)]
    tifffile.imwrite(tmp_path / "8.tif", (a >> 8).astype(np.uint8), photometric="rgb", extratags=tag)
    tifffile.imwrite(tmp_path / "16.tif", a, photometric="rgb", extratags=tag)
    tifffile.imwrite(tmp_path / "16p.tif", np.moveaxis(a, 2, 0), photometric="rgb", planarconfig="separate",
                     extratags=tag)
    with Image.open(tmp_path / "8.tif") as im:
        im.load()
        shown = np.asarray(ImageOps.exif_transpose(im))
    eight, depth8 = read_image(tmp_path / "8.tif")
    assert depth8 == 8 and np.array_equal(np.rint(eight * 255).astype(np.uint8), shown)
    for name in ("16.tif", "16p.tif"):
        sixteen, depth = read_image(tmp_path / name)
        assert depth == 16 and sixteen.shape == shown.shape
        assert np.array_equal(np.rint(sixteen * 65535).astype(np.uint16) >> 8, shown), name


def test_palette_images_expand_to_rgb_or_rgba(tmp_path):
    rgb = _crop()
    pal = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    pal.save(tmp_path / "p.png")
    pixels, _ = read_image(tmp_path / "p.png")
    assert pixels.shape == (16, 24, 3)
    assert np.array_equal(np.rint(pixels * 255).astype(np.uint8), np.asarray(pal.convert("RGB")))
    pal.save(tmp_path / "pt.png", transparency=0)
    assert read_image(tmp_path / "pt.png")[0].shape == (16, 24, 4)


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    cmyk = Image.fromarray(_crop()).convert("CMYK")
    cmyk.save(tmp_path / "c.jpg", quality=95)
    pixels, depth = read_image(tmp_path / "c.jpg")
    assert pixels.shape == (16, 24, 3) and depth == 8
    with Image.open(tmp_path / "c.jpg") as im:
        assert im.mode == "CMYK"
        assert np.array_equal(np.rint(pixels * 255).astype(np.uint8), np.asarray(im.convert("RGB")))


@pytest.mark.parametrize("suffix", ["gif", "png", "webp"])  # animated GIF, APNG, animated WebP
def test_animated_images_need_a_frame(tmp_path, capsys, suffix):
    frames = [Image.fromarray(np.full((8, 12, 3), v, np.uint8)) for v in (10, 200, 90)]
    anim = tmp_path / f"anim.{suffix}"
    frames[0].save(anim, save_all=True, append_images=frames[1:], duration=100, loop=0,
                   **({"lossless": True} if suffix == "webp" else {}))
    err = _compress_fails(capsys, anim, tmp_path)
    assert "animated" in err and "--frame" in err
    assert "no frame 7" in _compress_fails(capsys, anim, tmp_path, "--frame", "7")
    pixels, _ = read_image(anim, frame=1)
    assert pixels.shape == (8, 12, 3) and np.allclose(pixels, 200 / 255)
    out = tmp_path / "f.inr"
    assert main(["compress", str(anim), "-o", str(out), *FAST, "--frame", "2"]) == 0
    assert out.is_file()


@pytest.mark.parametrize("suffix", ["jpg", "png"])
def test_exif_orientation_is_applied(tmp_path, suffix):
    stored = _crop((12, 8))  # 8 rows x 12 columns as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = tmp_path / f"rot.{suffix}"
    Image.fromarray(stored).save(path, exif=exif, **({"quality": 100} if suffix == "jpg" else {}))
    pixels, _ = read_image(path)
    assert pixels.shape == (12, 8, 3)  # compressed as displayed: portrait
    if suffix == "png":  # lossless: the exact rotation
        assert np.array_equal(np.rint(pixels * 255).astype(np.uint8), np.rot90(stored, -1))


def test_float_image_with_nan_is_refused(tmp_path, capsys):
    Image.fromarray(np.array([[np.nan, 0.5], [0.25, 1.0]], np.float32), "F").save(tmp_path / "nan.tif")
    assert "NaN" in _compress_fails(capsys, tmp_path / "nan.tif", tmp_path)
    with pytest.raises(InputError):
        read_image(tmp_path / "nan.tif")


# ---- meshes -------------------------------------------------------------------------------------

TETRA = "v 0 0 0\nv 1 0 0\nv 0 1 0\nv {x} 0 1\nf 1 2 3\nf 1 2 4\nf 1 3 4\nf 2 3 {last}\n"


@pytest.mark.parametrize("name,text,match", [
    ("nan.obj", TETRA.format(x="nan", last=4), "NaN or infinite"),
    ("inf.obj", TETRA.format(x="inf", last=4), "NaN or infinite"),
    ("huge.obj", TETRA.format(x="1e300", last=4), "rescale"),
    ("index.obj", TETRA.format(x=0, last=99), "vertex that does not exist"),
    ("negative.obj", TETRA.format(x=0, last=-99), "vertex that does not exist"),
    ("index.ply", "ply\nformat ascii 1.0\nelement vertex 4\nproperty float x\nproperty float y\nproperty float z\n"
                  "element face 2\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n"
                  "3 0 1 2\n3 0 1 77\n", "vertex that does not exist"),
    ("empty.obj", "", "no triangles"),
    ("points.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\n", "point cloud|no triangles"),
    ("claims.ply", "ply\nformat binary_little_endian 1.0\nelement vertex 1000000000\nproperty float x\n"
                   "property float y\nproperty float z\nend_header\n", "not a readable PLY"),
])
def test_hostile_meshes_are_one_line_errors(tmp_path, capsys, name, text, match):
    path = tmp_path / name
    path.write_text(text)
    err = _compress_fails(capsys, path, tmp_path, "--resolution", "8")
    assert __import__("re").search(match, err), err


def test_mesh_file_size_and_resolution_limits_name_their_flags(tmp_path, capsys):
    mesh = DATA / "bunny_decimated_5k_instantngp.obj"
    err = _compress_fails(capsys, mesh, tmp_path, "--max-mesh-bytes", "1000")
    assert "limit for a mesh file" in err and "--max-mesh-bytes" in err
    assert "--max-resolution" in _compress_fails(capsys, mesh, tmp_path, "--resolution", "2048")


# ---- NeRF scene folders -------------------------------------------------------------------------

LEGO = DATA / "nerf" / "blender_lego_tiny"
FERN = DATA / "nerf" / "llff_fern_tiny"


def _scene(tmp_path: Path, src: Path = LEGO) -> Path:
    dst = tmp_path / "scene"
    shutil.copytree(src, dst)
    return dst


def _edit(scene: Path, split: str, edit) -> None:
    path = scene / f"transforms_{split}.json"
    meta = json.loads(path.read_text())
    edit(meta)
    path.write_text(json.dumps(meta))


@pytest.mark.parametrize("edit,match", [
    (lambda m: m.pop("camera_angle_x"), "camera_angle_x"),
    (lambda m: m.pop("frames"), "frames"),
    (lambda m: m["frames"][0].pop("file_path"), "file_path"),
    (lambda m: m["frames"][0].pop("transform_matrix"), "transform_matrix"),
    (lambda m: m["frames"][0].update(file_path=7), "file_path"),
    (lambda m: m["frames"][0].update(transform_matrix=[[1, 2], [3]]), "transform_matrix"),
    (lambda m: m.update(frames={"a": 1}), "frames"),
    (lambda m: m.update(camera_angle_x=1e300), "camera angle"),
    (lambda m: m.update(camera_angle_x="wide"), "camera_angle_x"),
])
def test_transforms_json_with_missing_or_bad_keys(tmp_path, capsys, edit, match):
    scene = _scene(tmp_path)
    _edit(scene, "train", edit)
    assert match in _compress_fails(capsys, scene, tmp_path, "--size", "8", "--samples", "4")


def test_transforms_json_absurd_sizes(tmp_path, capsys):
    scene = _scene(tmp_path)
    (scene / "transforms_test.json").write_text("[" * 100000 + "]" * 100000)  # nesting bomb
    assert "not valid JSON" in _compress_fails(capsys, scene, tmp_path, "--size", "8")
    scene = _scene(tmp_path / "b")
    err = _compress_fails(capsys, scene, tmp_path, "--size", "8", "--max-json-bytes", "100")
    assert "--max-json-bytes" in err
    _png(scene / "train" / "r_0.png", 100000, 100000, 8, 6, b"")  # a view claiming 10^10 pixels
    err = _compress_fails(capsys, scene, tmp_path, "--size", "8")
    assert "decompression bomb" in err and "--max-pixels" in err
    _png(scene / "train" / "r_0.png", 9000, 9000, 8, 6, b"")  # 81 MP: over inrzip's 67 MP
    err = _compress_fails(capsys, scene, tmp_path, "--size", "8")
    assert "9000x9000" in err and "--max-pixels" in err
    assert "--size" in _compress_fails(capsys, _scene(tmp_path / "c"), tmp_path, "--size", "99999")
    err = _compress_fails(capsys, _scene(tmp_path / "d"), tmp_path, "--size", "8", "--max-scene-bytes", "1000")
    assert "--max-scene-bytes" in err


def test_llff_poses_bounds_claiming_a_huge_array_is_refused_before_allocating(tmp_path, capsys):
    scene = _scene(tmp_path, FERN)
    arr = np.load(scene / "poses_bounds.npy")
    header = np.lib.format.header_data_from_array_1_0(arr)
    header["shape"] = (10 ** 9, 17)  # 136 GB claimed by a 600-byte file
    with open(scene / "poses_bounds.npy", "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, header)
        fh.write(arr.tobytes())
    assert "poses_bounds.npy" in _compress_fails(capsys, scene, tmp_path, "--size", "8")
    degenerate = np.zeros_like(arr)
    degenerate[:, 15:] = 1.0
    degenerate[:, [4, 9, 14]] = [36.0, 48.0, 40.0]
    np.save(scene / "poses_bounds.npy", degenerate)
    assert "degenerate" in _compress_fails(capsys, scene, tmp_path, "--size", "8")


def test_a_multipage_16bit_tiff_gives_the_page_asked_for(tmp_path):
    """``--frame N`` of a multi-page 16-bit colour TIFF is that page at 16 bits (tifffile's page N, Pillow's frame N)."""
    import tifffile

    pages = np.random.default_rng(5).integers(0, 65536, (3, 10, 12, 3)).astype(np.uint16)
    with tifffile.TiffWriter(tmp_path / "multi.tif") as tif:
        for page in pages:
            tif.write(page, photometric="rgb")
    with pytest.raises(InputError, match="an animated image"):
        read_image(tmp_path / "multi.tif")
    for frame in range(3):
        pixels, depth = read_image(tmp_path / "multi.tif", frame=frame)
        assert depth == 16 and np.array_equal(np.rint(pixels * 65535).astype(np.uint16), pages[frame])
