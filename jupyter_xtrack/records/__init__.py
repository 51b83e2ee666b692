"""Runs as data: `Run` (what a reader sees of a stored run), `Comparison`, the one-line and
detailed summaries, and formatting.py, the one place values become text. No state, no
capture, no IPython: the server, the CLI and the views all read runs through here."""
