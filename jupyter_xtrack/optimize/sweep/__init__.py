"""Sweeps: an ask/tell loop over Optuna in which the tracker owns every trial.

The sweep is a run of kind "sweep"; each trial a child run of kind "trial" holding its
params, its metrics (every `xt.log` inside the objective), its outcome (tag
`xtrack.trial.state`: complete, pruned, failed, interrupted), its device and, when it failed,
its traceback. Optuna's study lives beside the run store (`<store>/optuna.journal`) under
the sweep's name, so `resume=True` continues it after a kernel restart.

The objective is a Python callable (called with the trial's params as keyword arguments)
or the body of a notebook cell (run in the user's namespace with the cell's own top-level
assignments to the swept names replaced by the trial's values).

One idea per module: `config` (the checked settings), `objective` and `cell_objective`
(what a trial runs), `loop` (ask/tell), `storage` (the journal file), `result` (what a sweep
returns, with its HTML) and `entry` (`sweep`, `sweep_cell`, `best`); for trials run by other
processes `plan`, `remote`, `dispatch` (Dask workers), `join` (`xtrack worker`), `handover`
(a sweep in the kernel that workers join) and `follow` (their trials seen from the kernel). No module here is named
like a function it exports: importing it would replace the function on the package.
"""

from .cell_objective import CellObjective
from .config import DIRECTIONS, SweepConfig, SweepError
from .entry import best, sweep, sweep_cell
from .loop import SweepLoop
from .objective import FunctionObjective, Objective
from .result import BestTrial, SweepResult, TrialRecord, leaderboard_frame
from .storage import STORAGE_FILE

__all__ = [
    "DIRECTIONS",
    "STORAGE_FILE",
    "BestTrial",
    "CellObjective",
    "FunctionObjective",
    "Objective",
    "SweepConfig",
    "SweepError",
    "SweepLoop",
    "SweepResult",
    "TrialRecord",
    "best",
    "leaderboard_frame",
    "sweep",
    "sweep_cell",
]
