"""Reproducing a run from the store alone (`xt.reproduce`, `xtrack reproduce`): see entry.py
for the path of a reproduction. Sits with optimize/ (above the API and the tracking session
it runs through)."""

from .entry import reproduce
from .result import VERDICTS, Reproduction

__all__ = ["VERDICTS", "Reproduction", "reproduce"]
