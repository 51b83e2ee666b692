"""What a sweep returns: its trials, its best trial and its leaderboard (with their HTML)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .config import EXPLICIT, SweepError, describe_direction
from .storage import open_storage

if TYPE_CHECKING:
    import optuna
    import pandas as pd


@dataclass
class TrialRecord:
    """One trial as the sweep saw it."""

    number: int
    state: str
    params: dict[str, Any]
    value: float | None = None
    duration_s: float | None = None
    run_id: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "state": self.state,
            "value": self.value,
            "params": self.params,
            "duration_s": self.duration_s,
            "run_id": self.run_id,
        }


@dataclass
class BestTrial:
    """The best complete trial of a sweep: its params, value, trial number and run id."""

    params: dict[str, Any]
    value: float
    number: int
    run_id: str | None
    metric: str | None = None

    def __repr__(self) -> str:
        metric = self.metric or "value"
        return f"<BestTrial #{self.number} {metric}={self.value:.6g} params={self.params}>"


@dataclass
class SweepResult:
    """What a sweep returns: its trials, leaderboard and best trial. `state` is finished,
    interrupted (Ctrl-C), cancelled (a background job), or failed (too many failed trials)."""

    name: str
    run_id: str | None
    metric: str | None
    direction: str
    state: str
    trials: list[TrialRecord] = field(default_factory=list)
    storage_path: str | None = None
    sampler: str | None = None
    _study: Any = field(default=None, repr=False, compare=False)
    # explicit, inferred (from the metric's name) or default: see `config.resolve_direction`
    direction_source: str = EXPLICIT

    @property
    def direction_note(self) -> str:
        """Which way the sweep went and why ("minimize val_rmse (inferred from ...)")."""
        return describe_direction(self.direction, self.direction_source, self.metric)

    @property
    def leaderboard(self) -> pd.DataFrame:
        """Every trial, best first: number, state, value, duration_s, run_id, then params."""
        return leaderboard_frame(self.trials, self.direction, self.metric)

    @property
    def best(self) -> BestTrial | None:
        done = [t for t in self.trials if t.state == "complete" and t.value is not None]
        if not done:
            return None
        pick = max if self.direction == "maximize" else min
        top = pick(done, key=lambda t: float(t.value))  # type: ignore[arg-type]
        return BestTrial(dict(top.params), float(top.value), top.number, top.run_id, self.metric)  # type: ignore[arg-type]

    @property
    def best_params(self) -> dict[str, Any]:
        best = self.best
        if best is None:
            raise SweepError(f"sweep {self.name!r} has no complete trial yet")
        return dict(best.params)

    def study(self) -> optuna.Study:
        """The Optuna study behind the sweep (for Optuna's own plots and analyses)."""
        if self._study is None:
            import optuna  # lazy: optuna loads with the first sweep

            self._study = optuna.load_study(
                study_name=self.name, storage=open_storage(self.storage_path)
            )
        study: optuna.Study = self._study
        return study

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.trials:
            out[t.state] = out.get(t.state, 0) + 1
        return out

    def __repr__(self) -> str:
        best = self.best
        counts = ", ".join(f"{n} {s}" for s, n in self.counts().items())
        return (
            f"<Sweep {self.name} {self.state} ({self.direction_note}): {len(self.trials)} "
            f"trials ({counts}); best {best!r}>"
        )

    def _repr_html_(self) -> str:
        import html

        best = self.best
        head = (
            f"<b>sweep {html.escape(self.name)}</b> {html.escape(self.state)}: "
            f"{len(self.trials)} trials ({html.escape(', '.join(f'{n} {s}' for s, n in self.counts().items()))})"
            f"<br>{html.escape(self.direction_note)}"
        )
        if best is not None:
            head += (
                f"<br>best {html.escape(self.metric or 'value')} = <b>{best.value:.6g}</b> "
                f"(trial {best.number}) <code>{html.escape(str(best.params))}</code>"
            )
        return f"<div>{head}</div>{self.leaderboard.head(10).to_html(index=False)}"


def leaderboard_frame(
    trials: list[TrialRecord], direction: str, metric: str | None
) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for t in trials:
        row: dict[str, Any] = {
            "number": t.number,
            "state": t.state,
            metric or "value": t.value,
            "duration_s": t.duration_s,
            "run_id": t.run_id,
        }
        row.update({f"params.{k}": v for k, v in t.params.items()})
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    key = metric or "value"
    order = {"complete": 0, "pruned": 1, "interrupted": 2, "failed": 3, "crashed": 4, "running": 5}
    frame["_state_rank"] = frame["state"].map(order).fillna(6)
    frame = frame.sort_values(
        ["_state_rank", key], ascending=[True, direction != "maximize"], na_position="last"
    )
    return frame.drop(columns="_state_rank").reset_index(drop=True)


def best_value(records: list[TrialRecord], direction: str) -> float | None:
    values = [r.value for r in records if r.state == "complete" and r.value is not None]
    if not values:
        return None
    return max(values) if direction == "maximize" else min(values)


# A trial's outcome where Optuna's FAIL says too little (user attr of the trial): "failed"
# (its code raised), "interrupted" (the sweep was stopped), "crashed" (its process died), or
# "surplus" (asked once the sweep had its count: never run, never shown).
STATE_ATTR = "xtrack_state"
RUN_ATTR = "xtrack_run_id"  # the trial's run, where it was stored with the trial (in-kernel)
ASKED_ATTR = "xtrack_asked_by"  # who asked for the trial: a Dask worker's address, or host:pid
# The study's key from which the runs of trials asked by workers take their ids
# (`trial_run_id`): no write per trial to say which run is whose.
RUN_KEY_ATTR = "xtrack_run_key"
SURPLUS = "surplus"


def trial_run_id(run_key: str, number: int) -> str:
    """The run id of trial `number` of the study whose key is `run_key` (a run id itself,
    drawn once per study): derived, so that the worker that runs the trial, the kernel that
    follows it and whoever marks it crashed all know it without storing it per trial. Laid
    out as `store.ids.new_run_id` lays ids out (32 hex digits, leading 0, UUIDv7 bits), with
    the key's milliseconds: a sweep's trial runs sort together by the sweep's start."""
    import hashlib

    digest = hashlib.blake2b(f"{run_key}:{number}".encode(), digest_size=10).digest()
    bits = int.from_bytes(digest, "big")  # 80 bits: the 12-bit counter field, 62 random
    counter, rand = (bits >> 62) & 0xFFF, bits & ((1 << 62) - 1)
    ms = int(run_key[:12], 16)
    value = (ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand
    return f"{value:032x}"


def run_of(trial: optuna.trial.FrozenTrial, run_key: str | None) -> str | None:
    """The id of `trial`'s run: stored with the trial (sweeps in the kernel, and those
    before run keys), else derived for a trial that a worker asked for."""
    stored = trial.user_attrs.get(RUN_ATTR)
    if stored:
        return str(stored)
    if run_key and ASKED_ATTR in trial.user_attrs:
        return trial_run_id(run_key, trial.number)
    return None


def records_from_study(study: optuna.Study) -> list[TrialRecord]:
    """Trials a resumed sweep already has (finished ones only)."""
    key = study.user_attrs.get(RUN_KEY_ATTR)
    records = (record_of(t, key) for t in study.get_trials(deepcopy=False))
    return [r for r in records if r is not None]


def record_of(trial: optuna.trial.FrozenTrial, run_key: str | None = None) -> TrialRecord | None:
    """A finished trial as the sweep shows it (None: running, or surplus)."""
    from optuna.trial import TrialState

    names = {
        TrialState.COMPLETE: "complete",
        TrialState.PRUNED: "pruned",
        TrialState.FAIL: "failed",
    }
    state = names.get(trial.state)
    if state is None or trial.user_attrs.get(STATE_ATTR) == SURPLUS:
        return None
    if state == "failed":
        state = trial.user_attrs.get(STATE_ATTR, state)
    duration = trial.duration.total_seconds() if trial.duration is not None else None
    return TrialRecord(
        trial.number, state, dict(trial.params), trial.value, duration, run_of(trial, run_key)
    )
