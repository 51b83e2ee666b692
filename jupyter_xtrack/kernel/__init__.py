"""The kernel's door: the only code that imports IPython. `%load_ext jupyter_xtrack`
(extension.py), the `%%track` line parsed once (track_line.py), the run-cell hooks
(hooks.py), the magics (magics.py) and the sidebar's Launch bridge (launch.py)."""
