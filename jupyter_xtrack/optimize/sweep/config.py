"""A sweep's settings, checked once before it starts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..pruners import pruner_name
from ..samplers import sampler_name
from ..scoring import DEFAULT_DIRECTION, metric_direction
from ..space import Space

DIRECTIONS = {"maximize": "maximize", "max": "maximize", "minimize": "minimize", "min": "minimize"}
# Where a sweep's direction came from (tag `xtrack.sweep.direction_source`): given by the
# caller, inferred from the metric's name, or the default for a name that says nothing.
EXPLICIT, INFERRED, DEFAULT = "explicit", "inferred", "default"


class SweepError(ValueError):
    """A sweep that cannot start; the message says what to change."""


@dataclass
class SweepConfig:
    space: Space
    trials: int
    metric: str | None
    direction: str
    sampler: str
    pruner: str
    name: str | None
    experiment: str | None
    tags: dict[str, str]
    resume: bool
    max_failures: int
    timeout: float | None
    seed: int | None
    show: bool
    direction_source: str = EXPLICIT
    # Dask workers to run the trials on (a count, a scheduler address or a Client; None: this
    # process) and where the study lives (None: beside the run store, see `storage`).
    workers: Any = None
    storage: str | None = None

    def trial_limit(self) -> int:
        """How many trials the sweep runs: `trials`, or fewer for a smaller grid."""
        return min(self.trials, self.space.grid_size()) if self.sampler == "grid" else self.trials

    def direction_note(self) -> str:
        """What the sweep does and why, for its header: "minimize val_rmse (inferred from
        the metric's name)"."""
        return describe_direction(self.direction, self.direction_source, self.metric)


def describe_direction(direction: str, source: str, metric: str | None) -> str:
    """A sweep's direction in words: "minimize val_rmse (inferred from the metric's name)",
    "maximize acc", or for a name that says nothing, the default and how to change it."""
    text = f"{direction} {metric or 'the objective'}"
    if source == INFERRED:
        return f"{text} (inferred from the metric's name)"
    if source == DEFAULT:
        other = "minimize" if direction == "maximize" else "maximize"
        return (f"{text} (the default: the name does not say which way is better; "
                f"pass --{other} or direction={other!r} to change it)")
    return text


def resolve_direction(direction: str | None, metric: str | None) -> tuple[str, str]:
    """(maximize or minimize, where it came from): `direction` when given, else what the
    metric's name says, else the default."""
    if direction is not None:
        key = DIRECTIONS.get(str(direction).lower())
        if key is None:
            raise SweepError(f"direction must be maximize or minimize, got {direction!r}")
        return key, EXPLICIT
    inferred = metric_direction(metric)
    if inferred is not None:
        return inferred, INFERRED
    return DEFAULT_DIRECTION, DEFAULT


def make_config(space: Space, trials: int, metric: str | None, direction: str | None,
            sampler: str | None, pruner: str | None, name: str | None, experiment: str | None,
            tags: Mapping[str, str] | None, resume: bool, max_failures: int,
            timeout: float | None, seed: int | None, show: bool, *, workers: Any = None,
            storage: str | None = None) -> SweepConfig:
    key, source = resolve_direction(direction, metric)
    if trials < 1:
        raise SweepError(f"trials must be at least 1, got {trials}")
    if max_failures < 1:
        raise SweepError(f"max_failures must be at least 1, got {max_failures}")
    # A space written only with grid(...) is searched exhaustively unless a sampler is named.
    chosen = None if (sampler in (None, "tpe") and space.only_grid) else sampler
    canonical = sampler_name(chosen, space)
    if canonical == "grid":
        space.grid()  # raises SpaceError naming a continuous param
    return SweepConfig(
        space, trials, metric, key, canonical, pruner_name(pruner), name, experiment,
        {str(k): str(v) for k, v in (tags or {}).items()}, resume, max_failures, timeout, seed,
        show, source, workers, storage,
    )
