"""Sampler names (as written on the `%%track --sweep` line) -> Optuna samplers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .space import Space, SpaceError

if TYPE_CHECKING:
    from optuna.samplers import BaseSampler

SAMPLERS = ("tpe", "random", "grid", "gp", "cmaes")
_ALIASES = {"bayes": "gp", "bo": "gp", "cma": "cmaes", "cma-es": "cmaes", "rand": "random"}


def sampler_name(name: str | None, space: Space | None = None) -> str:
    """The canonical sampler name for `name` (None: tpe, or grid for an all-grid(...) space)."""
    if name is None:
        return "grid" if space is not None and space.only_grid else "tpe"
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in SAMPLERS:
        raise SpaceError(f"unknown sampler {name!r}; use one of {', '.join(SAMPLERS)}")
    return key


def make_sampler(name: str | None, space: Space, seed: int | None = None) -> BaseSampler:
    """An Optuna sampler for `space`: tpe (default), random, grid, gp (Gaussian-process
    Bayesian optimisation) or cmaes. SpaceError when the space does not suit it."""
    import optuna

    key = sampler_name(name, space)
    if key == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True)
    if key == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if key == "grid":
        return _ask_tell_grid(space.grid(), seed)
    if key == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    # CMA-ES samples numbers only; choices go to its independent (random) fallback.
    try:
        import cmaes  # noqa: F401
    except ImportError:
        raise SpaceError(
            "the cmaes sampler needs the 'cmaes' package: pip install cmaes (or use tpe/gp)"
        ) from None
    return optuna.samplers.CmaEsSampler(seed=seed)


def _ask_tell_grid(grid: dict[str, list[object]], seed: int | None) -> BaseSampler:
    """Optuna's GridSampler for an ask/tell loop. Its after_trial calls `study.stop()` when
    the grid is used up, which only works inside `study.optimize`; the sweep loop stops at
    the grid's size itself, so that call is skipped."""
    import optuna

    class AskTellGridSampler(optuna.samplers.GridSampler):
        def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
            return None

    return AskTellGridSampler(grid, seed=seed)  # type: ignore[arg-type]
