"""inrzip: compress signals into tiny neural (implicit neural representation) files.

Layers, each importing only the ones before it (tests/test_architecture.py checks it):
``errors, registry, limits, config, metrics, version`` -> ``nets`` -> ``signals`` -> ``quant`` -> ``bitstream`` ->
``fit`` -> ``api`` -> ``cli``, ``bench``, ``experiments``, ``demo`` (public names of ``api`` and the core only).
"""

from .api import (
                  CompressConfig,
                  Encoded,
                  FitConfig,
                  Fitted,
                  compress,
                  decode,
                  decompress,
                  encode,
                  encode_bits,
                  info,
                  prepare,
                  resolve,
                  train,
                  write,
)
from .errors import FormatError, InputError, InrzipError
from .limits import Limits
from .version import __version__

__all__ = ["CompressConfig", "Encoded", "FitConfig", "Fitted", "compress", "decode", "decompress", "encode",
           "encode_bits", "info", "prepare", "resolve", "train", "write", "Limits", "InrzipError", "FormatError", "InputError",
           "__version__"]
