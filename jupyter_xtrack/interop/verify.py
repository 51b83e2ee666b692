"""The verification that ends every copy: each kind of object counted in the source and,
read back, in the destination. A copy that lost anything says so with the table."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .model import MlflowModel, MlflowRun

MODEL_OBJECTS = ("registered models", "model versions", "aliases")
OBJECTS = ("experiments", "runs", "params", "metric points", "tags", "artifacts", "datasets")


@dataclass(frozen=True)
class Count:
    """One row of the table."""

    object: str
    source: int
    destination: int

    @property
    def ok(self) -> bool:
        return self.source == self.destination


def counts(runs: Iterable[MlflowRun]) -> dict[str, int]:
    """How many of each object `runs` hold (tags and artifacts as the user set them: without
    what an export derived or an import added to find the run again)."""
    total = dict.fromkeys(OBJECTS, 0)
    experiments: set[str] = set()
    for run in runs:
        experiments.add(run.experiment)
        total["runs"] += 1
        total["params"] += len(run.params)
        total["metric points"] += sum(len(p) for p in run.metrics.values())
        total["tags"] += len(run.user_tags())
        total["artifacts"] += len(run.user_artifacts())
        total["datasets"] += len(run.datasets)
    total["experiments"] = len(experiments)
    return total


def compare(source: Iterable[MlflowRun], destination: Iterable[MlflowRun]) -> list[Count]:
    src, dst = counts(source), counts(destination)
    return [Count(name, src[name], dst[name]) for name in OBJECTS]


def compare_models(
    source: Iterable[MlflowModel], destination: Iterable[MlflowModel]
) -> list[Count]:
    """Registered models, their versions and aliases, counted on both sides."""

    def count(models: Iterable[MlflowModel]) -> list[int]:
        listed = list(models)
        return [
            len(listed),
            sum(len(m.versions) for m in listed),
            sum(len(m.aliases) for m in listed),
        ]

    src, dst = count(source), count(destination)
    return [Count(name, s, d) for name, s, d in zip(MODEL_OBJECTS, src, dst, strict=True)]


def table_text(rows: list[Count], source: str, destination: str) -> str:
    """The table as text, a mismatch marked on its row."""
    width = max(len(r.object) for r in rows)
    lines = [f"{'':{width}}  {source:>12}  {destination:>12}"]
    for r in rows:
        mark = "" if r.ok else "  MISMATCH"
        lines.append(f"{r.object:{width}}  {r.source:>12,}  {r.destination:>12,}{mark}")
    return "\n".join(lines)
