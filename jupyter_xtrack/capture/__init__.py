"""Capture: pure functions that read the world and return plain JSON-able facts.

One module per kind of fact: ``code`` (notebook and lineage), ``env`` (software, hardware),
``git``, ``data`` (file hashes, file access, fingerprints), ``params`` (parameters, metrics),
``resources`` (time, memory), ``outputs`` (printed text, figures), ``redact`` (secrets).
None of them writes the store or imports IPython; import the module you need.
"""
