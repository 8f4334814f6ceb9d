"""Decoding spreads an image's chunks over the CPU's cores (``signals.base.run_chunks``): the pixels must be those
of a serial decode bit for bit, at every scale, and an error in any chunk must surface as itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import inrzip
from inrzip.signals.base import run_chunks

GOLDEN = Path(__file__).resolve().parent / "golden" / "v1"


def _decode_with_threads(data: bytes, threads: int, **options) -> np.ndarray:
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return inrzip.decompress(data, **options)
    finally:
        torch.set_num_threads(old)


@pytest.mark.parametrize("name", ["image_mlp_pe_bpp_tbits", "image_doh_capped_minmax8", "gray16_mlp_minmax10",
                                  "rgba_doh_minmax8"])
@pytest.mark.parametrize("scale", [1, 2, 0.5, 0.3])
def test_parallel_decode_equals_the_serial_one(name, scale):
    data = (GOLDEN / f"{name}.inr").read_bytes()
    serial = _decode_with_threads(data, 1, scale=scale)
    parallel = _decode_with_threads(data, 3, scale=scale)
    assert parallel.dtype == serial.dtype and parallel.shape == serial.shape
    assert np.array_equal(parallel, serial)


def test_a_full_size_file_decodes_the_same_on_one_thread_and_on_three(monkeypatch):
    """768x512: 48 chunks of 8192 pixels over three workers against 12 of 32768 on one thread."""
    from inrzip.signals import image

    calls: list[tuple[int, int]] = []

    def spy(work, starts, workers, progress=False):
        calls.append((len(starts), workers))
        return run_chunks(work, starts, workers, progress)

    monkeypatch.setattr(image, "run_chunks", spy)
    data = (GOLDEN / "kodim23_mlp_28x9_minmax16.inr").read_bytes()
    assert np.array_equal(_decode_with_threads(data, 3), _decode_with_threads(data, 1))
    assert calls == [(48, 3), (12, 1)]  # the parallel path was the one taken


def test_run_chunks_raises_the_first_error_and_restores_the_thread_count():
    done: list[int] = []

    def work(s: int) -> None:
        if s == 3:
            raise ValueError("chunk 3 is bad")
        done.append(s)

    old = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with pytest.raises(ValueError, match="chunk 3 is bad"):
            run_chunks(work, range(8), 2)
        assert torch.get_num_threads() == 2
        done.clear()
        run_chunks(work, [0, 1, 2], 2)
        assert sorted(done) == [0, 1, 2]
    finally:
        torch.set_num_threads(old)


def test_workers_run_single_threaded_torch_ops():
    seen: list[int] = []
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        run_chunks(lambda s: seen.append(torch.get_num_threads()), range(4), 2)
    finally:
        torch.set_num_threads(old)
    assert seen == [1, 1, 1, 1]


def test_concurrent_decodes_are_right_and_leave_the_thread_count_as_it_was():
    from concurrent.futures import ThreadPoolExecutor

    data = (GOLDEN / "image_mlp_pe_bpp_tbits.inr").read_bytes()
    serial = _decode_with_threads(data, 1, scale=2)
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with ThreadPoolExecutor(3) as pool:
            outs = list(pool.map(lambda _: inrzip.decompress(data, scale=2), range(6)))
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(old)
    assert all(np.array_equal(o, serial) for o in outs)


@pytest.mark.parametrize("name,options", [("image_mlp_minmax8", {"scale": 3}), ("occupancy_doh_minmax8", {"resolution": 48})])
def test_a_decode_with_progress_counts_every_chunk_and_gives_the_same_output(monkeypatch, name, options):
    """The decode's progress bar (``decode_bar``) is opened for the chunks about to run, moves once per chunk, and
    changes nothing in the output; without ``progress`` it is disabled."""
    from inrzip.signals import base, occupancy

    bars = []

    class Recorder:
        def __init__(self, total: int, progress: bool) -> None:
            self.total, self.progress, self.n = total, progress, 0
            bars.append(self)

        def __enter__(self) -> "Recorder":
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def update(self, k: int) -> None:
            self.n += k

    monkeypatch.setattr(base, "decode_bar", Recorder)
    monkeypatch.setattr(occupancy, "decode_bar", Recorder)
    data = (GOLDEN / f"{name}.inr").read_bytes()
    quiet = inrzip.decompress(data, **options)
    shown = inrzip.decompress(data, progress=True, **options)
    assert np.array_equal(quiet, shown)
    assert [b.progress for b in bars] == [False, True]
    assert all(b.n == b.total >= 1 for b in bars)
    assert bars[1].total > 1  # a chunked decode
