"""A sweep's settings, checked once before it starts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..pruners import pruner_name
from ..samplers import sampler_name
from ..space import Space

DIRECTIONS = {"maximize": "maximize", "max": "maximize", "minimize": "minimize", "min": "minimize"}


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


def make_config(space: Space, trials: int, metric: str | None, direction: str, sampler: str | None,
            pruner: str | None, name: str | None, experiment: str | None,
            tags: Mapping[str, str] | None, resume: bool, max_failures: int,
            timeout: float | None, seed: int | None, show: bool) -> SweepConfig:
    key = DIRECTIONS.get(str(direction).lower())
    if key is None:
        raise SweepError(f"direction must be maximize or minimize, got {direction!r}")
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
        show,
    )
