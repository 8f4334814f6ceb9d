"""The .inr container and entropy coding: round trips, and hostile files rejected with one line."""

import struct
import zlib

import numpy as np
import pytest

from inrzip.bitstream.container import MAGIC, read_inr, write_inr
from inrzip.bitstream.entropy import MODELS, bzip2_pickle_size, decode_codes, encode_codes
from inrzip.bitstream.header import network_header
from inrzip.bitstream.pipeline import pack, unpack
from inrzip.errors import FormatError
from inrzip.nets.networks import NetworkSpec
from inrzip.nets.parameterizations import DOH, MLP


@pytest.mark.parametrize("bits", [1, 2, 4, 8, 12, 16])
def test_entropy_coding_round_trip(bits):
    rs = np.random.default_rng(bits)
    codes = np.clip(np.rint(rs.normal(2 ** (bits - 1), 2 ** bits / 10, 3000)), 0, 2 ** bits - 1).astype(np.int64)
    coded = encode_codes(codes, bits)
    assert np.array_equal(decode_codes(coded, bits, codes.size), codes)


def test_entropy_coding_beats_raw_and_picks_models():
    rs = np.random.default_rng(0)
    peaked = np.clip(np.rint(rs.laplace(128, 6, 5000)), 0, 255).astype(np.int64)
    coded = encode_codes(peaked, 8)
    assert MODELS[coded.model] in ("laplace", "counts")
    assert coded.words.nbytes * 8 < 0.8 * 8 * peaked.size
    flat = rs.integers(0, 4, 5000)
    assert encode_codes(flat, 2).words.nbytes * 8 <= 2.02 * flat.size + 64


def test_entropy_coding_is_deterministic():
    codes = np.random.default_rng(1).integers(0, 64, 2000)
    a, b = encode_codes(codes, 6), encode_codes(codes, 6)
    assert a.model == b.model and a.model_params == b.model_params and np.array_equal(a.words, b.words)


def _sample_file(param="mlp") -> tuple[bytes, dict]:
    spec = NetworkSpec(2, 3, 8, 1, pe_freqs=2 if param == "doh" else 0)
    p = MLP(spec, seed=1) if param == "mlp" else DOH(spec, seed=1, latent_dim=40)
    header = {**network_header(spec, p, "minmax", 6, "image"), "h": 4, "w": 5, "c": 3, "depth": 8}
    data, deq, _ = pack(header, {k: v.detach().numpy() for k, v in p.stored().items()}, "minmax", 6)
    return data, header


@pytest.mark.parametrize("param", ["mlp", "doh"])
def test_container_round_trip(param):
    data, header = _sample_file(param)
    assert data[:4] == MAGIC
    h, spec, layers = unpack(data)
    assert h == {k: (float(v) if isinstance(v, float) else v) for k, v in header.items()}
    assert spec.width == 8 and len(layers) == 3


def test_header_value_types_round_trip():
    header = {"u": 5, "neg": -3, "f": 0.25, "s": "héllo", "fl": [1.5, -2.0], "il": [1, 2, 300], "b": True}
    h, t = read_inr(write_inr(header, []))
    assert h == header and t == []


def _reseal(body: bytes) -> bytes:
    return body + struct.pack("<I", zlib.crc32(body))


def test_rejects_truncated_corrupt_and_foreign_files():
    data, _ = _sample_file()
    with pytest.raises(FormatError, match="empty or truncated"):
        unpack(b"")
    with pytest.raises(FormatError, match="checksum|truncated"):
        unpack(data[: len(data) // 2])
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x40
    with pytest.raises(FormatError, match="checksum"):
        unpack(bytes(flipped))
    with pytest.raises(FormatError, match="magic"):
        unpack(b"\x89PNG\r\n\x1a\n" + data[8:])
    future = bytearray(data[:-4])
    future[4] = 9
    with pytest.raises(FormatError, match="version 9.*upgrade"):
        unpack(_reseal(bytes(future)))


def test_rejects_hostile_headers_before_allocating():
    _, header = _sample_file()
    huge = write_inr({**header, "h": 31623, "w": 31623}, [])  # 10^9 pixels, valid checksum
    with pytest.raises(FormatError, match="over the limit"):
        unpack(huge)
    wide = write_inr({**header, "width": 4096, "hidden": 64}, [])  # 10^9 stored values
    with pytest.raises(FormatError, match="limit"):
        unpack(wide)
    with pytest.raises(FormatError, match="lacks fields"):
        unpack(write_inr({"kind": "image"}, []))
    with pytest.raises(FormatError, match="unknown signal kind"):
        unpack(write_inr({**header, "kind": "hologram"}, []))
    with pytest.raises(FormatError, match="tensors"):
        unpack(write_inr(header, []))


def test_rejects_lying_lengths():
    data, _ = _sample_file()
    body = bytearray(data[:-4])
    body[5] = 0x7F  # header length now points past the end
    with pytest.raises(FormatError):
        unpack(_reseal(bytes(body)))
    garbage = MAGIC + b"\x01" + bytes(range(256)) * 4
    with pytest.raises(FormatError):
        unpack(_reseal(garbage))


def test_bzip2_pickle_reference_size_is_measured():
    arrays = {"a": (np.arange(1000) % 7).astype(np.uint16)}
    assert 0 < bzip2_pickle_size(arrays) < 2000


# ---- hostile files with a valid checksum: finite-looking side info, absurd sizes ------------------

GOLDEN = __import__("pathlib").Path(__file__).resolve().parent / "golden" / "v1"


def _edited(name: str, header: dict | None = None, qparams: dict[int, list[float]] | None = None) -> bytes:
    """A golden file with header fields or tensors' quantizer side info replaced, re-sealed (valid CRC)."""
    from inrzip.bitstream.container import TensorRecord

    h, records = read_inr((GOLDEN / name).read_bytes())
    for i, q in (qparams or {}).items():
        records[i] = TensorRecord(np.asarray(q, np.float32), records[i].coded)
    return write_inr({**h, **(header or {})}, records)


def _decode_fails(data: bytes, match: str, **options) -> None:
    """A FormatError, with no NumPy warning on the way (warnings are errors here)."""
    import warnings

    import inrzip

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FormatError, match=match):
            inrzip.decode(data, progress=False, **options)


@pytest.mark.parametrize("bad", [[np.nan, 1.0], [0.0, np.inf], [-np.inf, 0.0]])
def test_non_finite_side_info_is_a_format_error(bad):
    _decode_fails(_edited("image_mlp_minmax8.inr", qparams={0: bad}), "NaN or infinity")


def test_huge_finite_side_info_that_overflows_the_network_is_refused():
    """The issue's probe: finite but huge decoded weights make NaN pixels; they must not reach a writer."""
    _decode_fails(_edited("image_mlp_minmax8.inr", qparams={0: [-1e38, 1e38]}), "non-finite outputs")
    codebook = np.linspace(-1e38, 1e38, 16).tolist()  # sorted, finite: a valid-looking 4-bit codebook
    _decode_fails(_edited("image_mlp_kmeans4.inr", qparams={0: codebook}), "non-finite outputs")
    _decode_fails(_edited("occupancy_mlp_kmeans5.inr", qparams={0: np.linspace(-1e38, 1e38, 32).tolist()}),
                  "non-finite outputs")
    _decode_fails(_edited("radiance_mlp_minmax8.inr", qparams={0: [-1e38, 1e38]}), "non-finite")


def test_doh_latent_that_overflows_b_z_is_refused():
    _decode_fails(_edited("image_doh_doh_minmax5.inr", qparams={0: [-1e38, 1e38]}), "overflows float32")
    _decode_fails(_edited("image_doh_doh_minmax5.inr", header={"omega": 5e-324}), "omega")


def test_a_tiny_file_claiming_a_huge_network_is_refused_before_allocating():
    """4096x64 with a 1-entry D'OH latent: 1e9 weights (4 GB) from a few hundred bytes."""
    data = _edited("image_doh_doh_minmax5.inr", header={"width": 4096, "hidden": 64, "latent": 1})
    _decode_fails(data, "--max-weights")
    _decode_fails(_edited("image_mlp_minmax8.inr", header={"h": 8000, "w": 8000, "width": 1000}), "--max-macs")
    _decode_fails(_edited("image_mlp_minmax8.inr", header={"in": 3}), "inputs")
    _decode_fails(_edited("image_mlp_minmax8.inr", header={"c": 4}), "outputs")
    _decode_fails(_edited("image_mlp_minmax8.inr", header={"omega": 0.0}), "omega")


def test_radiance_degenerate_cameras_are_refused():
    h = read_inr((GOLDEN / "radiance_mlp_minmax8.inr").read_bytes())[0]
    assert h["pose_kind"] == "lookat"
    _decode_fails(_edited("radiance_mlp_minmax8.inr", header={"test_poses": [0.0] * len(h["test_poses"])}),
                  "degenerate cameras")
    _decode_fails(_edited("radiance_mlp_minmax8.inr", header={"samples": 1024, "fine": 1024, "h": 8000, "w": 8000}),
                  "--max-pixels")


def test_rendering_batches_shrink_for_wide_networks():
    from inrzip.limits import WORK_FLOATS
    from inrzip.signals.base import batch_rows

    meta = {"in": 2, "out": 3, "width": 12, "hidden": 2, "pe": 0}
    assert batch_rows(meta, 1 << 16) == 1 << 16  # the historical batch: files decode as they always did
    assert batch_rows({**meta, "width": 4096}, 1 << 16) * 4096 <= WORK_FLOATS
    assert batch_rows({**meta, "in": 90, "width": 64}, 4096, per_row=2048) >= 1


def test_per_tensor_bits_round_trip_and_hostile_lists_are_refused():
    """``tbits`` (per-tensor bits): every tensor decodes at its own depth; a list of the wrong length, type or
    range is a one-line format error before any tensor is decoded."""
    from inrzip.quant import get_quantizer

    spec = NetworkSpec(2, 3, 8, 1)
    p = MLP(spec, seed=1)
    stored = {k: v.detach().numpy() for k, v in p.stored().items()}
    q = get_quantizer("distributional")
    depths = dict(zip(stored, [3, 9, 5, 16, 6, 2]))
    tables = {n: q.quantize(v.ravel(), depths[n]) for n, v in stored.items()}
    header = {**network_header(spec, p, "distributional", 5, "image"), "h": 4, "w": 5, "c": 3, "depth": 8}
    data, deq, sizes = pack(header, stored, "distributional", 5, tables)
    h, _, layers = unpack(data)
    assert h["tbits"] == list(depths.values()) and h["bits"] == 5
    assert sizes.estimated_bytes == sum(v.size * depths[n] for n, v in stored.items()) / 8
    for (w, b), i in zip(layers, range(0, 6, 2)):
        names = list(stored)
        assert np.array_equal(w.numpy(), deq[names[i]]) and np.array_equal(b.numpy(), deq[names[i + 1]])
    plain, _, _ = pack(header, stored, "distributional", 5)
    assert "tbits" not in read_inr(plain)[0]  # one depth for all: no list, as in every earlier file
    h, records = read_inr(data)
    for bad in ([5] * 5, [5] * 7, [0, 5, 5, 5, 5, 5], [17, 5, 5, 5, 5, 5], [5.0] * 6, "555555"):
        with pytest.raises(FormatError, match="tbits"):
            unpack(write_inr({**h, "tbits": bad}, records))
