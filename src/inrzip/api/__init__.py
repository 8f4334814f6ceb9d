"""Public Python API: ``compress`` / ``decompress`` and the steps behind them.

    >>> data = inrzip.compress("kodim23.png", arch="28x9", latent_ratio=0.6, bits=8)
    >>> image = inrzip.decompress(data, scale=2)

The steps, for tools built on top (the CLI, ``bench``, ``experiments``, ``benchmarks``):

- ``resolve(config, signal)``: the one place defaults are applied (signal kind, parameterization, preset);
  the command line and Python give the same fit for the same request;
- ``prepare`` -> network spec and initial parameters; ``train`` -> a ``Fitted`` network;
- ``write(fitted, bits, quantizer)``: the one "encode, decode, score" path: quantize, entropy-code, write
  the file, decode its bytes and measure what a user gets. One fit can be written at many bit depths and
  with any quantizer (post-training quantization), which is how the papers sweep rate-distortion.
"""

from .core import (
    DEFAULT_LIMITS,
    NETWORK_DEFAULTS,
    PRESETS,
    SIZE_OPTIONS,
    CompressConfig,
    Encoded,
    FitConfig,
    Fitted,
    Limits,
    Prepared,
    decode,
    decoded_layers,
    decompress,
    field_of,
    info,
    inr_bytes,
    load,
    prepare,
    resolve,
    train,
    write,
)
from .encoding import compress, encode, encode_at_rate, encode_bits, encode_many

__all__ = ["CompressConfig", "FitConfig", "Limits", "DEFAULT_LIMITS", "Encoded", "Fitted", "Prepared", "PRESETS",
           "NETWORK_DEFAULTS", "SIZE_OPTIONS", "resolve", "prepare", "train", "write", "compress", "decompress", "encode",
           "encode_at_rate", "encode_bits", "encode_many", "decode", "decoded_layers", "info", "inr_bytes", "load", "field_of"]
