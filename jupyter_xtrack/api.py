"""The public Python API. Thin: each function delegates to the active run, the recorder or
the store."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import views
from .records.compare import Comparison, compare_runs, set_rich_display
from .records.run import Run
from .registry import AliasChange, ModelVersion, RegisteredModel, Registry
from .tracking import scripts
from .tracking.active_run import ActiveRun, log
from .tracking.recorder import wait_pending
from .tracking.session import CONTEXT
from .views import source as view_source

if TYPE_CHECKING:
    import pandas as pd

    from .store.contract import RunStore

__all__ = ["active_run", "alias_history", "compare", "delete_alias", "end_run", "flush",
           "get_model_version", "get_run", "load_model", "log", "log_artifact", "log_params",
           "model_versions", "models", "open_store", "register_model", "runs", "set_alias",
           "set_tags", "show", "start_run"]

_RUNS_LEAD = ("id", "number", "name", "experiment", "status", "started_at", "duration_s",
              "git.commit", "git.dirty")
start_run = scripts.start_run
end_run = scripts.end_run


def log_params(**params: Any) -> None:
    """Record params on the active run; non-JSON-able values are stored as their repr, flagged."""
    run = CONTEXT.active
    if run is None:
        CONTEXT.no_run("log_params")
    else:
        run.log_params(**params)


def set_tags(**tags: Any) -> None:
    """Set string tags on the active run."""
    run = CONTEXT.active
    if run is None:
        CONTEXT.no_run("set_tags")
    else:
        run.set_tags(**tags)


def log_artifact(path_or_object: Any, name: str | None = None) -> None:
    """Store a file or an object (DataFrame, figure, model, array...) with the active run.

    Returns None, so that a cell ending in `xt.log_artifact(...)` displays nothing and leaves
    no result a tracker could read as metrics (the stored entry is in `run.artifacts`)."""
    run = CONTEXT.active
    if run is None:
        CONTEXT.no_run("log_artifact")
        return
    run.log_artifact(path_or_object, name)


def active_run() -> ActiveRun | None:
    """The run being recorded now (innermost when runs are nested), or None."""
    return CONTEXT.active


def runs(
    filter: str | None = None,
    experiment: str | None = None,
    order_by: str | Sequence[str] | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """All runs of the store as a DataFrame, one row per run, newest first.

    Columns: id, number, name, experiment, status, started_at, duration_s, git.commit,
    git.dirty, then params.<k>, metrics.<k> (last value) and tags.<k>. `filter` uses the
    filter language, e.g. ``"metrics.acc > 0.9 and params.model = 'rf'"``.
    """
    wait_pending()
    table = CONTEXT.store().query_runs(filter, experiment=experiment, order_by=order_by, limit=limit)
    frame = table.to_frame()
    # The documented order first; the other run fields (kind, parent_id, ...) at the end.
    lead = [c for c in _RUNS_LEAD if c in frame.columns]
    dynamic = [c for c in frame.columns if c.startswith(("params.", "metrics.", "tags."))]
    rest = [c for c in frame.columns if c not in lead and c not in dynamic]
    return frame[lead + dynamic + rest]


def get_run(ref: str | int) -> Run:
    """One run by full id, unique id prefix, or number (12 or "#12")."""
    wait_pending()
    store = CONTEXT.store()
    return Run(store.get_run(ref), store, flush=CONTEXT.flush)


def compare(*refs: str | int | Run) -> Comparison:
    """Params, metrics, environment, git, data and code differences between runs."""
    return compare_runs([r if isinstance(r, Run) else get_run(r) for r in refs])


def _registry() -> Registry:
    return Registry(CONTEXT.store(), flush=CONTEXT.flush)


def register_model(
    run_or_artifact: Any,
    name: str,
    *,
    aliases: Sequence[str] = (),
    tags: dict[str, Any] | None = None,
    description: str | None = None,
) -> ModelVersion:
    """Register a run's model as the next version of `name` (1, 2, ...; never reused).

    `run_or_artifact`: a Run, a run reference ("#12", 12, an id), or "RUN:artifact_name";
    with a run alone its model is the AutoML `model.pkl`, else its one model-like artifact.
    """
    wait_pending()
    return _registry().register(run_or_artifact, name, aliases=aliases, tags=tags,
                                description=description)


def set_alias(name: str, alias: str, version: int, *, reason: str | None = None,
              evaluation: str | int | None = None) -> AliasChange:
    """Point `alias` ("champion") of model `name` at `version`; the change (who, when, from,
    to, `reason`, the `evaluation` run behind it) is kept in the alias history."""
    return _registry().set_alias(name, alias, version, reason=reason,
                                 evaluation=None if evaluation is None else str(evaluation))


def delete_alias(name: str, alias: str, *, reason: str | None = None) -> AliasChange:
    """Remove an alias of model `name` (kept in the alias history)."""
    return _registry().delete_alias(name, alias, reason=reason)


def get_model_version(uri: str) -> ModelVersion:
    """A registered version: "churn@champion", "churn/3", "churn" (latest), "churn@latest",
    "models:/churn@champion", "models:/churn/3"."""
    return _registry().get(uri)


def load_model(uri: str, *, trusted: bool = False) -> Any:
    """The object a version holds. A pickled one (pickle, joblib, torch) loads only from a
    store you own, or with `trusted=True`: unpickling runs the file's code."""
    return _registry().load(uri, trusted=trusted)


def alias_history(name: str, alias: str | None = None) -> list[AliasChange]:
    """Every change of model `name`'s aliases (or of `alias`), oldest first."""
    return _registry().history(name, alias)


def models(query: str | None = None) -> list[RegisteredModel]:
    """Registered models: `query` words are name parts, "k=v" tags, "@alias" aliases."""
    return _registry().models(query)


def model_versions(name: str | None = None, *, tag: str | dict[str, Any] | None = None,
                   alias: str | None = None) -> list[ModelVersion]:
    """Registered versions of `name` (or all), with tag `tag` ("k=v" or "k") and `alias`."""
    return _registry().versions(name, tag=tag, alias=alias)


def open_store(path_or_url: str | os.PathLike[str] | None = None) -> RunStore:
    """Use the store at `path_or_url` (a folder or `sqlite:///...`) from now on in this process.

    Without an argument: `$XTRACK_STORE`, else `.xtrack/` at the root of the git repository
    that holds the notebook (or the working directory).
    """
    wait_pending()
    return CONTEXT.use_store(path_or_url)


def flush(timeout: float | None = 60.0) -> None:
    """Block until everything recorded so far is in the store."""
    wait_pending(timeout)


def show(obj: Any) -> Any:
    """An interactive view of `obj` (a runs DataFrame, a Comparison, a Run) where widgets work;
    `obj` itself elsewhere. Usable as `xt.runs().pipe(xt.show)`."""
    return views.show(obj)


class _ApiSource:
    """The views' source of runs: this facade (the views never import it)."""

    runs = staticmethod(runs)
    get_run = staticmethod(get_run)
    compare = staticmethod(compare)
    wait_pending = staticmethod(wait_pending)


def _comparison_bundle(comparison: Comparison) -> dict[str, Any]:
    # lazy: the front-end helpers load when a Comparison is first displayed
    from .views.frontend import marked

    bundle: dict[str, Any] = marked(dict(views.compare_bundle(comparison)))
    return bundle


view_source.use(_ApiSource())
set_rich_display(_comparison_bundle)
