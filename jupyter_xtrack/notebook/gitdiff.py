"""The one way notebooks are stripped for a run's git diff, shared by its two ends.

A dirty notebook's raw `git diff` carries every output (base64 images included) and grows
with each run. The recorder diffs output-stripped versions instead (`capture/git.py` is
handed this function), and `xtrack reproduce` strips the commit's copy of the same notebooks
with it before `git apply`: both sides must come out byte for byte the same, so there is
exactly one function and it takes no options.
"""

from __future__ import annotations

from .strip import StripOptions, strip_bytes

__all__ = ["EMPTY_NOTEBOOK", "strip_for_git_diff"]

_OPTIONS = StripOptions()  # outputs, execution counts and volatile metadata; cell ids kept

# What a notebook that does not exist on one side is diffed against in nbdime's view.
EMPTY_NOTEBOOK = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n'


def strip_for_git_diff(data: bytes) -> bytes:
    """`data` without outputs, execution counts or volatile metadata; bytes that are not a
    notebook come back unchanged (so their diff is git's own), never an exception."""
    return strip_bytes(data, _OPTIONS).data
