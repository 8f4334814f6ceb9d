"""The package version, in the bottom layer so every command and result row can state it."""

__version__ = "0.1.0"
