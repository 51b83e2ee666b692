"""xtrack subcommands: hygiene (filled in by its owner)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Add this family's subcommands to the `xtrack` parser."""
    del sub


def _unused(args: argparse.Namespace) -> int:
    return 0
