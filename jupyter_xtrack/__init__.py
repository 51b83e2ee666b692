"""jupyter_xtrack: Jupyter-native experiment tracking."""

__version__ = "0.1.0"
