"""What a run is asked to record: the code being tracked (`CellInfo`) and the user's options
(`RunOptions`, from the `%%track` line or `start_run(...)`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class CellInfo:
    """What the front end knows about the code being tracked."""

    source: str
    python_source: str | None = None  # the source after IPython's transforms (for analysis)
    kind: str = "cell"  # cell | script
    cell_id: str | None = None
    notebook_path: str | None = None
    history: Sequence[tuple[int, str]] = ()
    user_ns: Mapping[str, Any] | None = None
    script_path: str | None = None


@dataclass
class RunOptions:
    """What the user asked for on the `%%track` line or in `start_run(...)`."""

    name: str | None = None
    experiment: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    param_names: list[str] = field(default_factory=list)
    data_paths: list[str] = field(default_factory=list)
    parent_id: str | None = None
    search_top: int | None = None  # a search's candidates kept as child runs; None: the default
    # system metrics' sampling interval as given (`--system-metrics`); None: XTRACK_SYSTEM_METRICS
    system_metrics: str | None = None
    evaluate: bool = True  # `%%track --no-eval`: no automatic evaluation after the cell
