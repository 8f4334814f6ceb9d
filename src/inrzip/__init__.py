"""inrzip: compress signals into tiny neural (implicit neural representation) files."""

from .api import CompressConfig, Encoded, compress, decode, decompress, encode, encode_bits, info
from .errors import FormatError, InputError, InrzipError
from .fitting import FitConfig

__version__ = "0.1.0"
__all__ = ["CompressConfig", "Encoded", "FitConfig", "compress", "decode", "decompress", "encode", "encode_bits",
           "info", "InrzipError", "FormatError", "InputError", "__version__"]
