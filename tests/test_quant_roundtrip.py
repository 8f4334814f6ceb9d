"""Every quantizer x {mlp, doh} x bits: the decoded file reproduces the in-memory quantized network exactly."""

import numpy as np
import pytest
import torch

from inrzip.bitstream.header import network_header
from inrzip.bitstream.pipeline import pack, unpack
from inrzip.nets.networks import NetworkSpec, forward
from inrzip.nets.parameterizations import DOH, MLP, materialize
from inrzip.quant import QUANTIZERS


@pytest.mark.parametrize("quantizer", ["minmax", "explicit", "distributional", "kmeans"])
@pytest.mark.parametrize("param", ["mlp", "doh"])
def test_file_reproduces_quantized_network(quantizer, param):
    assert quantizer in QUANTIZERS
    spec = NetworkSpec(2, 3, 12, 2, pe_freqs=3 if param == "doh" else 0)
    p = MLP(spec, seed=5) if param == "mlp" else DOH(spec, seed=5, latent_ratio=0.5)
    with torch.no_grad():  # move weights off their init so every quantizer has real work
        for t in p.parameters():
            t.add_(torch.randn(t.shape, generator=torch.Generator().manual_seed(1)) * float(t.abs().mean()) * 0.5)
    stored = {k: v.detach().numpy() for k, v in p.stored().items()}
    coords = torch.rand(256, 2) * 2 - 1
    for bits in (2, 3, 4, 5, 6, 7, 8, 16):
        header = {**network_header(spec, p, quantizer, bits, "image"), "h": 16, "w": 16, "c": 3, "depth": 8}
        data, deq, _ = pack(header, stored, quantizer, bits)
        _, dspec, layers = unpack(data)
        in_memory = materialize(param, spec, p.header(), deq)
        for (w1, b1), (w2, b2) in zip(in_memory, layers):
            assert torch.equal(w1, w2) and torch.equal(b1, b2), (quantizer, param, bits)
        assert torch.equal(forward(spec, in_memory, coords), forward(dspec, layers, coords))
        if bits >= 8 and quantizer != "explicit":  # explicit clips to [-1, 1] by design
            err = max(float(np.abs(deq[k] - stored[k]).max()) for k in stored)
            assert err < 0.05 * max(float(np.abs(v).max()) for v in stored.values())
