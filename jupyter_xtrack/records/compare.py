"""Structured differences between runs: params, metrics, environment, git, data and code.

`xt.compare(a, b, ...)` returns a `Comparison`. It renders as an HTML table in a notebook
(differences highlighted), as a readable text table elsewhere, and `.to_frame()` gives a
pandas DataFrame (one column per run).
"""

from __future__ import annotations

import difflib
import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..facts import GIT_DIFF, GIT_DIFF_BYTES, Fact
from .formatting import fmt_short

if TYPE_CHECKING:
    import pandas as pd

    from .run import Run

_MISSING = "—"
# The richest display of a Comparison (the in-notebook compare view), set by the layer that
# owns the views (api); records never import views.
_rich_display: Callable[[Comparison], dict[str, Any]] | None = None


def set_rich_display(fn: Callable[[Comparison], dict[str, Any]] | None) -> None:
    """Use `fn(comparison)` for the display data of every Comparison (None: HTML and text)."""
    global _rich_display
    _rich_display = fn


@dataclass
class Comparison:
    """Differences between two or more runs; the first run is the reference for diffs."""

    runs: list[Run]
    params: dict[str, list[Any]] = field(default_factory=dict)
    metrics: dict[str, list[Any]] = field(default_factory=dict)
    env: dict[str, list[Any]] = field(default_factory=dict)
    git: dict[str, list[Any]] = field(default_factory=dict)
    data: dict[str, list[Any]] = field(default_factory=dict)
    code_diffs: dict[str, str] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return [f"#{r.number}" + (f" {r.name}" if r.name else "") for r in self.runs]

    def sections(self) -> list[tuple[str, dict[str, list[Any]]]]:
        return [
            ("params", self.params),
            ("metrics", self.metrics),
            (Fact.ENV, self.env),
            (Fact.GIT, self.git),
            ("data", self.data),
        ]

    @staticmethod
    def differs(values: Sequence[Any]) -> bool:
        first = values[0]
        return any(v != first for v in values[1:])

    def differences(self) -> dict[str, dict[str, list[Any]]]:
        """Only the rows whose values differ between runs, by section."""
        return {
            name: {k: v for k, v in rows.items() if self.differs(v)}
            for name, rows in self.sections()
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per compared fact (`params.lr`, `metrics.acc`, `env.python`, ...), one column
        per run, plus a boolean `differs` column."""
        import pandas as pd

        index: list[str] = []
        rows: list[list[Any]] = []
        for section, values in self.sections():
            for key, vals in values.items():
                index.append(f"{section}.{key}")
                rows.append([None if v is None else v for v in vals] + [self.differs(vals)])
        frame = pd.DataFrame(rows, index=index, columns=[*self.labels, "differs"])
        return frame

    # -- rendering ---------------------------------------------------------------------
    def __repr__(self) -> str:
        widths = [max(12, len(lbl)) for lbl in self.labels]
        keyw = max([len(f"{s}.{k}") for s, rows in self.sections() for k in rows] + [10])
        head = "  ".join(["fact".ljust(keyw + 2), *(lbl.ljust(w) for lbl, w in zip(self.labels, widths, strict=True))])
        lines = [head, "-" * len(head)]
        for section, values in self.sections():
            for key, vals in values.items():
                mark = "* " if self.differs(vals) else "  "
                cells = [_cell(v).ljust(w) for v, w in zip(vals, widths, strict=True)]
                lines.append("  ".join([mark + f"{section}.{key}".ljust(keyw), *cells]))
        for label, diff in self.code_diffs.items():
            lines.append("")
            lines.append(f"code diff {self.labels[0]} -> {label}:")
            lines.append(diff if diff else "  (identical)")
        lines.append("")
        lines.append("* marks values that differ")
        return "\n".join(lines)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        """The richest view the front end can show: the in-notebook compare view when the
        widgets are available, else HTML, with plain text for everything else."""
        try:
            if _rich_display is not None:
                return _rich_display(self)
        except Exception:  # noqa: BLE001 - no widgets here: HTML and text still work
            pass
        return {"text/plain": repr(self), "text/html": self._repr_html_()}

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(lbl)}</th>" for lbl in self.labels)
        body = []
        for section, values in self.sections():
            if not values:
                continue
            body.append(
                f'<tr><th colspan="{len(self.runs) + 1}" style="text-align:left">{section}</th></tr>'
            )
            for key, vals in values.items():
                style = ' style="background:rgba(255,193,7,0.25)"' if self.differs(vals) else ""
                cells = "".join(f"<td>{html.escape(_cell(v))}</td>" for v in vals)
                body.append(f"<tr{style}><td>{html.escape(key)}</td>{cells}</tr>")
        diffs = "".join(
            f"<details><summary>code {html.escape(self.labels[0])} → {html.escape(label)}</summary>"
            f"<pre>{html.escape(diff or '(identical)')}</pre></details>"
            for label, diff in self.code_diffs.items()
        )
        return (
            '<div class="xtrack-compare"><table><thead><tr><th></th>'
            f"{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{diffs}</div>"
        )


def _cell(value: Any) -> str:
    return _MISSING if value is None else fmt_short(value)


def _union_keys(dicts: Sequence[dict[str, Any]]) -> list[str]:
    keys: dict[str, None] = {}
    for d in dicts:
        keys.update(dict.fromkeys(d))
    return sorted(keys)


def _table(dicts: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    return {k: [d.get(k) for d in dicts] for k in _union_keys(dicts)}


def compare_runs(runs: Sequence[Run]) -> Comparison:
    """Build the comparison of `runs` (two or more)."""
    if len(runs) < 2:
        raise ValueError("xt.compare needs at least two runs, e.g. xt.compare(3, 5)")
    runs = list(runs)
    comp = Comparison(runs=runs)
    comp.params = _table([r.params for r in runs])
    comp.metrics = _table([r.metrics for r in runs])
    comp.env = _env_rows(runs)
    comp.git = _table([_git_summary(r) for r in runs])
    comp.data = _table([_data_summary(r) for r in runs])
    base = runs[0].code or ""
    for label, run in zip(comp.labels[1:], runs[1:], strict=True):
        other = run.code or ""
        comp.code_diffs[label] = "".join(
            difflib.unified_diff(
                base.splitlines(keepends=True),
                other.splitlines(keepends=True),
                fromfile=comp.labels[0],
                tofile=label,
            )
        )
    return comp


def _env_rows(runs: Sequence[Run]) -> dict[str, list[Any]]:
    envs = [r.env or {} for r in runs]
    rows: dict[str, list[Any]] = {
        "python": [(e.get("python") or {}).get("version") for e in envs],
        "platform": [(e.get("platform") or {}).get("system") for e in envs],
    }
    imported = [e.get("imported") or {} for e in envs]
    packages = [e.get("packages") or {} for e in envs]
    # Only packages some run imported: a diff of every installed package is noise.
    for name in _union_keys(imported):
        rows[f"package.{name}"] = [
            imp.get(name) or pk.get(name) for imp, pk in zip(imported, packages, strict=True)
        ]
    return rows


# At most this many changed or untracked paths are named in a comparison's git rows.
_MAX_PATHS = 8


def _git_summary(run: Run) -> dict[str, Any]:
    """The git rows of a comparison: where the code came from (commit, branch, remote) and
    what was uncommitted (the files the diff touches, untracked files, the diff's size)."""
    git = run.fact(Fact.GIT) or {}
    if git.get("repo") is False:
        return {"repo": "no git"}
    return {
        "commit": (git.get("commit") or "")[:12] or None,
        "branch": git.get("branch"),
        "remote": git.get("remote"),
        "dirty": git.get("dirty"),
        "changed files": _paths(_diff_paths(run) if git.get("dirty") else []),
        "untracked": _paths(list(git.get("untracked") or [])),
        GIT_DIFF_BYTES: git.get(GIT_DIFF_BYTES),
    }


def _diff_paths(run: Run) -> list[str]:
    """The files a run's stored git diff touches, from its `+++ b/...` lines (`--- a/...`
    for a deleted file), in order."""
    try:
        text = (run.git or {}).get(GIT_DIFF) or ""
    except Exception:  # noqa: BLE001 - a missing diff blob leaves the row empty, not the view
        return []
    paths: dict[str, None] = {}
    for line in str(text).splitlines():
        if line.startswith(("+++ b/", "--- a/")):
            paths[line[6:]] = None
    return list(paths)


def _paths(paths: list[str]) -> str | None:
    """Paths as one cell: the first few, then how many more."""
    if not paths:
        return None
    more = len(paths) - _MAX_PATHS
    return ", ".join(paths[:_MAX_PATHS]) + (f" (+{more} more)" if more > 0 else "")


def _data_summary(run: Run) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for rec in run.inputs:
        rows[f"in:{rec.get('path')}"] = rec.get("hash") or rec.get("status")
    for rec in run.outputs:
        rows[f"out:{rec.get('path')}"] = rec.get("hash") or rec.get("status")
    for ds in run.datasets:
        rows[f"dataset:{ds.get('name')}"] = ds.get("hash")
    return rows
