"""The installed version. Its one source is labextension/package.json: the build writes it into
the wheel's metadata, and this reads it back from there."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("jupyter_xtrack")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
