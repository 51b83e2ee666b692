"""How a sweep's trial ends in its study: told as `study.optimize` tells it, with nothing
read back from the storage to make a copy that nobody uses."""

from __future__ import annotations

from typing import Any

import optuna
import pytest

from jupyter_xtrack.optimize.sweep.attempt import tell


def _reads(storage: Any) -> list[int]:
    """The trial ids `storage.get_trial` is asked for from now on."""
    asked: list[int] = []
    get_trial = storage.get_trial

    def counting(trial_id: int) -> Any:
        asked.append(trial_id)
        return get_trial(trial_id)

    storage.get_trial = counting
    return asked


@pytest.mark.parametrize(
    ("value", "state", "ended"),
    [
        (0.25, None, optuna.trial.TrialState.COMPLETE),
        (None, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.PRUNED),
        (None, optuna.trial.TrialState.FAIL, optuna.trial.TrialState.FAIL),
    ],
)
def test_a_trial_is_told_with_one_read_of_it(
    tmp_path: Any, value: float | None, state: Any, ended: Any
) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'study.db'}")
    trial = study.ask()
    trial.suggest_float("x", 0, 1)
    asked = _reads(study._storage)  # noqa: SLF001 - the storage a database study reads
    tell(study, trial, value, state=state)
    # Optuna's own check of the trial before it ends it; `Study.tell` read it again after.
    assert asked == [trial._trial_id]  # noqa: SLF001
    (frozen,) = study.get_trials()
    assert (frozen.state, frozen.value) == (ended, value)
    tell(study, trial, 0.5)  # a trial already ended keeps its end (skip_if_finished)
    assert study.get_trials()[0].state == ended
