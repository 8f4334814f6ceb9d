"""The command line (``inrzip ...``): ``main.py`` builds the parser from the subcommand modules; ``flags.py``
generates the compression flags from the config dataclasses."""

from .main import build_parser, main

__all__ = ["main", "build_parser"]
