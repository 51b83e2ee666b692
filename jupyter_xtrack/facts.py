"""The typed schema of a run: its statuses, kinds, row fields and the facts it records.

Every fact kind and every run field is spelled here once; writers (`tracking.recorder`) and
readers (`records`, `server`, `views`, `cli`) use these names and types. It sits below
`store/` so that every backend (SQLite today, PostgreSQL next) and every exporter shares it.
Adding a fact: a TypedDict and a `Fact` constant here, a writer in `tracking/recorder.py`.
Pure data: imports nothing of the package.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal, NotRequired, TypedDict, get_args

# -- statuses and kinds ------------------------------------------------------------------
# A run is "running" until it ends with one of the others.
Status = Literal["running", "finished", "failed", "interrupted", "killed", "crashed"]
STATUSES: Final[tuple[Status, ...]] = get_args(Status)
Kind = Literal["cell", "script", "sweep", "trial", "automl"]
KINDS: Final[tuple[Kind, ...]] = get_args(Kind)


# -- fact kinds: the keys of `RunStore.set_facts` and of `Run.fact` ---------------------------
class Fact:
    """The kinds of fact a run records (one stored JSON value each)."""

    CODE: Final = "code"
    LINEAGE: Final = "lineage"
    NOTEBOOK: Final = "notebook"
    ENV: Final = "env"
    GIT: Final = "git"
    RESOURCES: Final = "resources"
    ERROR: Final = "error"
    STDIO: Final = "stdio"
    DATASETS: Final = "datasets"
    PARAMS_FLAGGED: Final = "params_flagged"  # params stored as a repr or a digest
    PARAMS_VARYING: Final = "params_varying"  # params a loop changes: {key: ParamVariation}
    CAPTURE_PROBLEMS: Final = "capture_problems"
    NOT_STORED: Final = "not_stored"
    EVALUATION: Final = "evaluation"  # xt.evaluate's report: EvaluationFact


# How a param that a loop changes is stored (`capture.params.cell_params`): "values", the list
# of the values the loop gives it; "varies", the value it ended with (the others are unknown).
ParamVariation = Literal["values", "varies"]


class CodeFact(TypedDict):
    hash: str | None  # blob of the redacted source
    kind: str
    script_path: str | None
    lines: int


class LineageFact(TypedDict):
    hash: str  # blob: the session's executed cells as an nbformat v4 notebook
    cells: int


class NotebookFact(TypedDict, total=False):
    path: str
    size: int
    hash: str  # blob of the saved notebook file
    error: str


class EnvFact(TypedDict):
    hash: str  # blob: the full environment (packages, hardware, env vars)
    python: str | None
    platform: str | None
    packages: int
    imported: int


class GitNotebookFact(TypedDict):
    """A notebook of a run's git diff, diffed with its outputs stripped from both sides
    (`notebook/gitdiff.py`); the two stripped sides are kept for nbdime's view."""

    path: str  # relative to the repository's root, as in the diff
    base_hash: str | None  # blob of HEAD's version, stripped; None for a new notebook
    work_hash: str | None  # blob of the working tree's version, stripped; None if deleted


class GitFact(TypedDict, total=False):
    repo: bool  # False outside a repository (then nothing else is set)
    root: str
    commit: str | None
    branch: str | None
    dirty: bool
    diff_hash: str  # blob of the diff against HEAD (the diff itself is not in the row)
    diff_bytes: int
    diff_truncated: bool
    untracked: list[str]
    untracked_truncated: bool
    remote: str | None
    timed_out: bool
    error: str
    # Set (maybe empty) when notebooks were diffed output-stripped: reproducing strips the
    # commit's copies of these the same way before applying the diff. Absent in older runs,
    # whose diff is git's raw one.
    stripped_notebooks: list[GitNotebookFact]


# Fields of GitFact written by the recorder (the rest come from capture.git as they are).
GIT_DIFF_HASH: Final = "diff_hash"
GIT_DIFF_BYTES: Final = "diff_bytes"
GIT_STRIPPED_NOTEBOOKS: Final = "stripped_notebooks"
# What readers (Run.git, the server) put in place of GIT_DIFF_HASH: the diff's text.
GIT_DIFF: Final = "diff"


class NotStoredFact(TypedDict):
    """What the store is missing of a run, counted exactly by the writer that dropped it."""

    points: int  # metric points
    writes: int  # params, tags, artifacts, facts, files (a run's end or creation too)
    reason: str | None  # the last error that dropped some of it


class ResourcesFact(TypedDict, total=False):
    wall_s: float
    cpu_s: float
    peak_rss_bytes: int | None
    rss_bytes: int | None
    peak_rss_scope: str
    peak_gpu_bytes: int


class ErrorFact(TypedDict):
    type: str
    message: str
    traceback: str


class StdioFact(TypedDict, total=False):
    stdout: str  # blob of the redacted text
    stdout_bytes: int
    stdout_truncated: bool
    stderr: str
    stderr_bytes: int
    stderr_truncated: bool


STDOUT: Final = "stdout"
STDERR: Final = "stderr"
STDIO_STREAMS: Final = (STDOUT, STDERR)
# The field of a fact (code, lineage, notebook, env) that names its blob.
BLOB_FIELD: Final = "hash"


class DatasetFact(TypedDict, total=False):
    name: str
    kind: str
    shape: Any
    hash: str | None


class FileRecord(TypedDict, total=False):
    """A file the run read (inputs) or wrote (outputs)."""

    path: str
    hash: str | None
    size: int | None
    status: str
    produced_by: str  # the run that wrote this content, for inputs


class ArtifactEntry(TypedDict, total=False):
    name: str
    hash: str
    size: int
    media_type: str | None


# -- evaluation reports (`xt.evaluate`) --------------------------------------------------------
# Curves are stored as data (at most a few hundred points each) so that the sidebar draws them
# with its chart module; the same report is also written as PNG artifacts under MLflow's names.
ModelType = Literal["classifier", "regressor"]


class Curve(TypedDict, total=False):
    """One curve: ROC (x=FPR, y=TPR), PR (x=recall, y=precision), calibration (x=mean predicted,
    y=fraction positive), residuals (x=predicted, y=residual), predicted vs actual (x, y)."""

    label: str  # the class it is drawn for ("1", "spam", or "micro"); "" for regressors
    x: list[float]
    y: list[float]
    area: float | None  # ROC AUC, average precision; None where no area applies


class ClassMetrics(TypedDict):
    precision: float
    recall: float
    f1: float
    support: int


class SliceReport(TypedDict):
    column: str
    value: str
    count: int
    metrics: dict[str, float]
    worse: list[str]  # the metrics worse than on the whole data by more than the margin
    note: NotRequired[str]  # why metrics is empty (a slice too small to score)


class EvaluationFact(TypedDict, total=False):
    model_type: ModelType
    model: str  # the estimator's class name
    data: str  # the name of X as the user passed it ("X_test"), or "X"
    n: int
    pos_label: str | None  # binary classifiers: the positive class, as text
    labels: list[str]  # classes, in the estimator's order
    metrics: dict[str, float]  # also logged as run metrics, MLflow's evaluate names
    per_class: dict[str, ClassMetrics]
    confusion: dict[str, Any]  # {"labels": [...], "matrix": [[int]]}, rows = true class
    curves: dict[str, list[Curve]]  # "roc", "pr", "calibration", "residuals", "predicted_actual"
    importance: list[dict[str, Any]]  # [{"feature", "mean", "std"}], permutation importance
    slices: list[SliceReport]
    slice_margin: float
    artifacts: dict[str, str]  # plot -> artifact file name (confusion_matrix.png, ...)
    importance_note: str  # what the budgeted permutation importance did (rows, repeats, skips)
    baseline: dict[str, Any]  # {"model": name, "metrics": {...}} of `baseline=` on the same data
    notes: list[str]  # what was left out and why (no probabilities: no log loss, ...)


class RunRecord(TypedDict, total=False):
    """A run as `RunStore.get_run` returns it and as `ActiveRun` keeps it while it runs: the
    row's fields, then each fact kind under its own key (and all of them under `facts`)."""

    id: str
    number: int
    name: str | None
    experiment: str
    status: Status
    kind: str
    parent_id: str | None
    children: list[str]
    started_at: float
    ended_at: float | None
    duration_s: float | None
    pid: int | None
    host: str | None
    user: str | None
    heartbeat_at: float | None
    notebook_path: str | None
    cell_id: str | None
    params: dict[str, Any]
    metrics: dict[str, float]
    tags: dict[str, str]
    inputs: list[FileRecord]
    outputs: list[FileRecord]
    artifacts: list[ArtifactEntry]
    facts: dict[str, Any]
    # the facts
    code: CodeFact
    lineage: LineageFact
    notebook: NotebookFact
    env: EnvFact
    git: GitFact
    resources: ResourcesFact
    error: ErrorFact | None
    stdio: StdioFact
    datasets: list[DatasetFact]
    params_flagged: list[str]
    params_varying: dict[str, ParamVariation]
    capture_problems: list[str]
    not_stored: NotStoredFact
    evaluation: EvaluationFact


def new_run_record(
    *,
    run_id: str,
    number: int,
    name: str | None,
    experiment: str | None,
    tags: dict[str, str],
    parent_id: str | None,
    kind: str,
    started_at: float,
    notebook_path: str | None = None,
    cell_id: str | None = None,
) -> RunRecord:
    """The record of a run that has just been created: what `RunStore.get_run` would return
    for it, before any param, metric or fact (the defaults the store applies included)."""
    return {
        "id": run_id,
        "number": number,
        "name": name,
        "experiment": experiment or "default",
        "status": "running",
        "kind": kind,
        "parent_id": parent_id,
        "started_at": started_at,
        "notebook_path": notebook_path,
        "cell_id": cell_id,
        "params": {},
        "metrics": {},
        "tags": dict(tags),
    }


# -- reading facts out of a run record -------------------------------------------------------
def fact_of(record: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """Fact `kind` of a run record as a dict ({} when the run has none)."""
    fact = record.get(kind)
    return dict(fact) if isinstance(fact, Mapping) else {}


def blob_of(record: Mapping[str, Any], kind: str) -> str | None:
    """The blob that holds fact `kind` (code, lineage, notebook, env), or None."""
    return fact_of(record, kind).get(BLOB_FIELD) or None


def stdio_blob(record: Mapping[str, Any], stream: str) -> str | None:
    """The blob of the run's captured `stream` (STDOUT or STDERR), or None."""
    return fact_of(record, Fact.STDIO).get(stream) or None


def git_diff_blob(record: Mapping[str, Any]) -> str | None:
    """The blob of the run's git diff against HEAD, or None."""
    return fact_of(record, Fact.GIT).get(GIT_DIFF_HASH) or None


# -- tags the package itself sets (readable by the server without the optimize package) -----
CANCEL_TAG: Final = "xtrack.job.cancel"
# Metrics the tracker samples while a run lasts (CPU, memory, GPUs), not what the user logged:
# `system/cpu_percent`, `system/rss_mb`, `system/gpu0/...` (capture/system_metrics.py).
SYSTEM_METRIC_PREFIX: Final = "system/"
# Set with the `not_stored` fact (its counts as text), so that run lists, which read no
# facts, can mark a run whose record is incomplete (and a filter can find them).
NOT_STORED_TAG: Final = "xtrack.not_stored"
# A reproduction (jupyter_xtrack/reproduction/) is a run tagged with the id of the run it
# reproduces, and with its verdict once compared; readers show the link both ways.
REPRODUCES_TAG: Final = "xtrack.reproduces"
VERDICT_TAG: Final = "xtrack.reproduce.verdict"
# A background reproduction (the sidebar's Reproduce button) is a job run tagged with the
# run it reproduces, then with the verdict and, when it could not run, the reason.
REPRODUCE_OF_TAG: Final = "xtrack.reproduce.of"
REPRODUCE_REASON_TAG: Final = "xtrack.reproduce.reason"
