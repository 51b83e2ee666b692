"""The one run lifecycle and the session's state: open a run, record into it, finish it, for
`%%track` cells, `start_run` scripts, sweep trials and AutoML candidates alike.
lifecycle.py is the lifecycle, recorder.py the captures around a cell or a script,
session.py the process's store, writer and run stack."""
