"""Parameters and metrics read off a cell: its literal assignments, metric-like variables,
scikit-learn estimators and its result value.
"""

from __future__ import annotations

import ast
import inspect
import json
import math
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from jupyter_xtrack.capture.loops import Source, loop_bindings, target_names
from jupyter_xtrack.capture.redact import redact_mapping, redact_text
from jupyter_xtrack.facts import ParamVariation

__all__ = [
    "DEFAULT_PARAM_MAX_CHARS",
    "METRIC_NAME_PATTERN",
    "PLOT_SETTING_WORDS",
    "analyze_cell",
    "cell_params",
    "estimator_params",
    "is_plot_setting",
    "jsonable",
    "normalise_repr",
    "param_char_cap",
    "metric_like",
    "metrics_from_namespace",
    "real_number",
    "result_metrics",
]

# ---------------------------------------------------------------------------------------------
# cell analysis


class _NotLiteral(Exception):
    pass


def _literal(node: ast.expr) -> Any:
    """The JSON-able value of a literal expression; tuples and sets become lists."""
    if isinstance(node, ast.Constant):
        if node.value is None or isinstance(node.value, (bool, int, float, str)):
            return node.value
        raise _NotLiteral  # bytes, complex, Ellipsis
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _NotLiteral
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(e) for e in node.elts]
    if isinstance(node, ast.Set):
        items = [_literal(e) for e in node.elts]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(node, ast.Dict):
        out = {}
        for k, v in zip(node.keys, node.values, strict=True):
            if k is None:  # {**other}
                raise _NotLiteral
            key = _literal(k)
            if isinstance(key, (list, dict)):
                raise _NotLiteral
            out[key if isinstance(key, str) else str(key)] = _literal(v)
        return out
    raise _NotLiteral


def _literal_assignments(stmt: ast.stmt) -> list[tuple[str, Any]]:
    if isinstance(stmt, ast.AnnAssign):
        if stmt.value is None or not isinstance(stmt.target, ast.Name):
            return []
        pairs: list[tuple[ast.expr, ast.expr]] = [(stmt.target, stmt.value)]
    elif isinstance(stmt, ast.Assign):
        pairs = [(t, stmt.value) for t in stmt.targets]
    else:
        return []
    out: list[tuple[str, Any]] = []
    for target, value in pairs:
        if isinstance(target, ast.Name):
            try:
                out.append((target.id, _literal(value)))
            except _NotLiteral:
                pass
        elif (
            isinstance(target, (ast.Tuple, ast.List))
            and isinstance(value, (ast.Tuple, ast.List))
            and len(target.elts) == len(value.elts)
            and not any(isinstance(e, ast.Starred) for e in (*target.elts, *value.elts))
        ):
            for t, v in zip(target.elts, value.elts, strict=True):
                if isinstance(t, ast.Name):
                    try:
                        out.append((t.id, _literal(v)))
                    except _NotLiteral:
                        pass
    return out


def _bound_names(stmt: ast.stmt, into: dict[str, None]) -> None:
    """Names a statement binds in the cell's (module) scope, recursing into blocks but not
    into functions, classes, lambdas or comprehensions, which have their own scopes."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return
    if isinstance(stmt, ast.Assign):
        for t in stmt.targets:
            into.update(dict.fromkeys(target_names(t)))
    elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        into.update(dict.fromkeys(target_names(stmt.target)))
    elif isinstance(stmt, (ast.For, ast.AsyncFor)):
        into.update(dict.fromkeys(target_names(stmt.target)))
    elif isinstance(stmt, (ast.With, ast.AsyncWith)):
        for item in stmt.items:
            if item.optional_vars is not None:
                into.update(dict.fromkeys(target_names(item.optional_vars)))
    for child in ast.iter_child_nodes(stmt):
        if isinstance(child, ast.stmt):
            _bound_names(child, into)
        elif isinstance(child, ast.ExceptHandler):
            if child.name:
                into[child.name] = None
            for s in child.body:
                _bound_names(s, into)
        elif isinstance(child, ast.match_case):
            for s in child.body:
                _bound_names(s, into)
    # a walrus at module level binds in the module scope too
    for node in ast.iter_child_nodes(stmt):
        if isinstance(node, ast.expr):
            for sub in _walk_same_scope(node):
                if isinstance(sub, ast.NamedExpr) and isinstance(sub.target, ast.Name):
                    into[sub.target.id] = None


def _walk_same_scope(node: ast.AST) -> list[ast.AST]:
    out = []
    stack = [node]
    while stack:
        n = stack.pop()
        out.append(n)
        if isinstance(n, ast.Lambda):
            continue
        stack.extend(ast.iter_child_nodes(n))
    return out


_LOG_OWNERS = frozenset({"xt", "xtrack", "jupyter_xtrack", "run"})


def _is_log_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    f = node.func
    if isinstance(f, ast.Name):
        return f.id == "log"
    return (
        isinstance(f, ast.Attribute)
        and f.attr in ("log", "log_metrics", "log_params")
        and isinstance(f.value, ast.Name)
        and f.value.id in _LOG_OWNERS
    )


def analyze_cell(source: str) -> dict[str, Any]:
    """Read a cell's parameters and names from its (IPython-transformed) Python source.

    Returns ``{literal_params, loop_params, loop_settings, loop_objects, assigned_names,
    referenced_names, calls_log, last_expr}``:

    - ``literal_params``: ``{name: value}`` for unconditional top-level ``name = <literal>``
      (numbers incl. negative, str, bool, None, and lists/tuples/dicts/sets of them; tuples
      and sets become lists), also through ``a = b = 1``, ``a, b = 1, 2`` and ``x: int = 3``.
      The last assignment of a name wins. Names a loop rebinds are not here but in
      ``loop_params``. Not params (dropped): empty containers (``scores = []``, accumulators)
      and plot settings (``is_plot_setting``). Values are redacted (``redact.redact_param``):
      a secret name (``api_key``, ``db_password``) keeps its name with the value
      ``[REDACTED]``, and token formats in string values are hidden (``token = "ghp_..."``).
    - ``loop_params``: the names that take several values in the cell's loops:
      ``{"values": [...]}`` for a ``for`` over values written in the cell (``for C in (1,
      0.1)``, also through ``enumerate``/``zip`` and a name set to a literal before the loop),
      ``{"iterates": "alphas"}`` for a ``for`` over a variable the cell does not rebind (its
      values are read after the cell, by ``cell_params``), ``{"varies": True}`` for a literal
      param that a loop rebinds otherwise. Same drops and redaction as ``literal_params``.
    - ``loop_settings``, ``loop_objects``: estimator settings a loop feeds
      (``{"clf.C": "C"}``) and objects a loop rebinds wholesale (``capture.loops``).
    - ``assigned_names``: names the cell binds in the notebook's global scope, in order: plain,
      augmented and annotated assignments, for-loop and with targets, walrus, also inside
      if/for/while/try/with blocks (they bind globals too), not inside functions or classes.
    - ``referenced_names``: every name read anywhere in the cell, in order of first use.
    - ``calls_log``: whether the cell calls ``log(...)`` or ``xt.log(...)`` (and the like).
    - ``last_expr``: whether the cell ends in an expression whose value is displayed (not
      silenced with a trailing ``;``).

    A cell that does not parse gives the same keys, empty, plus ``error``; never raises.
    """
    result: dict[str, Any] = {
        "literal_params": {},
        "loop_params": {},
        "loop_settings": {},
        "loop_objects": [],
        "assigned_names": [],
        "referenced_names": [],
        "calls_log": False,
        "last_expr": False,
    }
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, TypeError) as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, SyntaxError) and exc.lineno else ""
        result["error"] = f"{type(exc).__name__}: {getattr(exc, 'msg', exc)}{where}"
        return result
    except RecursionError:
        result["error"] = "RecursionError: cell nested too deeply to analyse"
        return result
    params: dict[str, Any] = {}
    assigned: dict[str, None] = {}
    for stmt in tree.body:
        for name, value in _literal_assignments(stmt):
            params.pop(name, None)  # re-insert so the order follows the last assignment
            params[name] = value
        _bound_names(stmt, assigned)
    first_use: dict[str, tuple[int, int]] = {}
    calls_log = False
    for node in ast.walk(tree):
        name_node = None
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            name_node = node
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            name_node = node.target  # `total += 1` reads total
        elif not calls_log and _is_log_call(node):
            calls_log = True
        if name_node is not None:
            pos = (name_node.lineno, name_node.col_offset)
            if pos < first_use.get(name_node.id, (sys.maxsize, 0)):
                first_use[name_node.id] = pos
    last_expr = False
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = tree.body[-1]
        lines = source.splitlines()
        tail = ""
        if last.end_lineno is not None and last.end_col_offset is not None:
            if last.end_lineno <= len(lines):
                tail = lines[last.end_lineno - 1].encode()[last.end_col_offset :].decode(
                    "utf-8", "replace"
                )
        last_expr = not tail.lstrip().startswith(";")
    loops = loop_bindings(tree, params)
    result.update(
        literal_params=redact_mapping(_drop_junk(
            {k: v for k, v in params.items() if k not in loops.names}
        )),
        loop_params=redact_mapping(_loop_params(loops.names, params)),
        loop_settings=loops.settings,
        loop_objects=sorted(loops.opaque),
        assigned_names=list(assigned),
        # in order of first appearance in the text (ast.walk is breadth-first)
        referenced_names=sorted(first_use, key=first_use.__getitem__),
        calls_log=calls_log,
        last_expr=last_expr,
    )
    return result


def _loop_params(names: Mapping[str, Source], literals: Mapping[str, Any]) -> dict[str, Any]:
    """``loop_params`` of ``analyze_cell`` from what the loops bind (see there)."""
    out: dict[str, Any] = {}
    for name, source in names.items():
        if source is not None and source[0] == "values":
            if not is_plot_setting(name, source[1]):
                out[name] = {"values": source[1]}
        elif source is not None:
            if not is_plot_setting(name, None):
                out[name] = {source[0]: source[1]}
        elif name in literals and _drop_junk({name: literals[name]}):
            out[name] = {"varies": True}
    return out


# Parts of a variable name that make it a plot setting, not an experiment's param.
PLOT_SETTING_WORDS = frozenset({
    "color", "colors", "colour", "colours", "cmap", "cmaps", "colormap", "colormaps", "palette",
    "edgecolor", "edgecolors", "facecolor", "facecolors", "marker", "markers", "markersize",
    "linestyle", "linestyles", "linewidth", "linewidths", "lw", "ls", "hatch", "hatches",
    "figsize", "dpi", "fontsize", "fontweight", "title", "xlabel", "ylabel", "zlabel",
    "xlim", "ylim", "zlim", "xticks", "yticks", "legend", "plot", "plots", "subplot",
    "subplots",
})
"""Name parts (split at ``_``, any case) that mark a plot setting: ``colors``,
``plot_colors``, ``cmap_light``, ``markers``, ``figsize``, ``lw``, ``plot_step``, ... A literal
or loop param with such a name is dropped. ``alpha`` is deliberately not here: it is the
regularisation strength of Ridge, Lasso, SGD and MLP models far more often than a plot's
transparency. Values are judged too: a string, or a list of strings, that matplotlib reads as
colours (``"navy"``, ``["turquoise", "darkorange"]``, ``"#1f77b4"``, ``"tab:blue"``) is dropped
under any name; single letters and grey levels (``"r"``, ``"0.5"``) only inside a list, and
``"none"`` never (it is also a value of scikit-learn settings)."""

_HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")


def is_plot_setting(name: str, value: Any) -> bool:
    """Whether ``name = value`` sets up a plot rather than the experiment (``PLOT_SETTING_WORDS``
    says how). ``value`` None judges the name only."""
    if any(part in PLOT_SETTING_WORDS for part in name.lower().split("_")):
        return True
    if isinstance(value, str):
        return len(value) > 1 and not _is_number(value) and _is_colour(value)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return all(_is_colour(v) for v in value)
    return False


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_colour(text: str) -> bool:
    if text.lower() == "none":
        return False
    colors = sys.modules.get("matplotlib.colors")  # only a cell that plots names colours
    if colors is not None:
        try:
            return bool(colors.is_color_like(text))
        except Exception:  # noqa: BLE001 - an odd matplotlib: judge by the name only
            return False
    return bool(_HEX_COLOUR.fullmatch(text)) or text.startswith(("tab:", "xkcd:"))


def _drop_junk(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` without empty containers (accumulators filled later) and plot settings."""
    return {
        k: v for k, v in params.items()
        if not (isinstance(v, (list, dict)) and not v) and not is_plot_setting(k, v)
    }


# ---------------------------------------------------------------------------------------------
# metric names

_METRIC_WORDS = (
    r"acc|accuracy|loss|logloss|nll|f1|fbeta|f\d+|auc|auroc|auprc|roc_auc|pr_auc|precision"
    r"|recall|sensitivity|specificity|rmse|mse|mae|mape|smape|rmsle|msle|r2|rsquared|score"
    r"|error|err|perplexity|ppl|bleu|rouge|meteor|wer|cer|iou|miou|dice|map|ap|ndcg|mrr"
    r"|hit_rate|kappa|mcc|psnr|ssim|fid|top\d+|brier|entropy|likelihood|elbo|reward|return"
    # clustering and probabilistic scores
    r"|silhouette|calinski_harabasz|davies_bouldin|adjusted_rand|rand_index|ari|ami|nmi"
    r"|mutual_info|v_measure|homogeneity|completeness|fowlkes_mallows|inertia|deviance"
    r"|log_loss|jaccard|hamming|explained_variance|d2"
)
_QUALIFIERS = (
    r"mean|avg|average|std|min|max|best|final|last|val|valid|validation|test|train|training"
    r"|eval|dev|rate|pct|percent|macro|micro|weighted|samples|binary|score|at|top\d+|\d+"
)
_PART_START = r"(?:^|_|(?<=[a-z0-9])(?=[A-Z]))"
_PART_SEP = r"(?:_|(?<=[a-z0-9])(?=[A-Z]))"

METRIC_NAME_PATTERN = (
    _PART_START + r"(?i:" + _METRIC_WORDS + r")\d*"
    r"(?:" + _PART_SEP + r"(?i:" + _QUALIFIERS + r"))*_*$"
)
"""Default regex (use with ``re.search``) for variable names that hold metrics.

A name is metric-like when one of its parts is a metric word (acc, accuracy, loss, f1, auc,
roc_auc, precision, recall, rmse, mse, mae, mape, r2, score, error, err, logloss, perplexity,
bleu, rouge, iou, map, ndcg, ...; a trailing number is allowed: ``acc5``, ``map50``) and every
part after it is a qualifier (mean, std, best, val, test, train, rate, macro, at, a number, ...).
Parts are separated by ``_`` or a camelCase hump; case does not matter inside a part. So
``val_acc``, ``test_loss``, ``train_rmse``, ``f1_score_macro``, ``error_rate``, ``ndcg_at_10``
and ``valAcc`` match, while ``accumulate``, ``lossy_data``, ``loss_fn``, ``loss_weight``,
``score_threshold`` and ``learning_rate`` do not: a metric word followed by something that is
not a qualifier names a setting or a helper, not a measured value.
"""

_DEFAULT_METRIC_RE = re.compile(METRIC_NAME_PATTERN)


def _compile_pattern(pattern: str | re.Pattern[str] | None) -> re.Pattern[str]:
    if pattern is None:
        return _DEFAULT_METRIC_RE
    if isinstance(pattern, re.Pattern):
        return pattern
    return re.compile(pattern, re.IGNORECASE)  # re caches compiled patterns


def metric_like(name: str, pattern: str | re.Pattern[str] | None = None) -> bool:
    """Whether ``name`` looks like a metric under ``pattern`` (default ``METRIC_NAME_PATTERN``).

    A str ``pattern`` is compiled case-insensitively and applied with ``re.search``; a compiled
    pattern is used as given. An invalid pattern raises ``re.error`` (a configuration mistake
    the caller should report, naming ``XTRACK_METRIC_PATTERN``).
    """
    return bool(_compile_pattern(pattern).search(name))


def real_number(value: Any) -> float | None:
    """``value`` as a float if it is a real number (not bool): int, float, numpy scalar or
    one-element 0-d tensor/array."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:
            return None
    np = sys.modules.get("numpy")
    if np is not None:
        if isinstance(value, (np.integer, np.floating)):
            return float(value)
        if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
            return float(value)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        if value.ndim == 0 and (value.is_floating_point() or value.dtype in _torch_ints(torch)):
            return float(value.item())
    return None


def _torch_ints(torch: Any) -> tuple[Any, ...]:
    return (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)


def metrics_from_namespace(
    names: Sequence[str], user_ns: Mapping[str, Any], pattern: str | re.Pattern[str] | None = None
) -> dict[str, float]:
    """Return ``{name: float}`` for the metric-like ``names`` whose values in ``user_ns`` are
    real numbers (int, float, numpy scalar, 0-d array or tensor; bools are not metrics).
    NaN and infinities are kept."""
    regex = _compile_pattern(pattern)
    out: dict[str, float] = {}
    for name in names:
        if not regex.search(name):
            continue
        try:
            value = real_number(user_ns[name])
        except Exception:  # missing name, or a tensor that refuses .item()
            continue
        if value is not None:
            out[name] = value
    return out


def result_metrics(value: Any, pattern: str | re.Pattern[str] | None = None) -> dict[str, float]:
    """A cell's result as metrics: a real number gives ``{"result": v}``; a dict gives its
    numeric entries whose names are metric-like (``metric_like`` on the key path, any run of
    non-word characters read as ``_``), nested dicts flattened with ``.``
    (``{"macro avg": {"f1-score": ..}}`` -> ``"macro avg.f1-score"``, as in scikit-learn's
    classification reports; its ``support`` counts are left out). So a displayed
    ``grid.best_params_`` (``{"C": 100, "gamma": 0.001}``) gives nothing. ``{}`` otherwise."""
    number = real_number(value)
    if number is not None:
        return {"result": number}
    out: dict[str, float] = {}
    if isinstance(value, Mapping):
        _flatten_numbers(value, "", out, 0)
    regex = _compile_pattern(pattern)
    return {k: v for k, v in out.items() if regex.search(_NON_WORD.sub("_", k))}


_NON_WORD = re.compile(r"[^0-9A-Za-z_]+")


def _flatten_numbers(mapping: Mapping[Any, Any], prefix: str, out: dict[str, float],
                     depth: int) -> None:
    if depth > 3:
        return
    try:
        items = list(mapping.items())
    except Exception:
        return
    for key, v in items:
        if not isinstance(key, (str, int)) or isinstance(key, bool):
            continue
        name = f"{prefix}{key}"
        number = real_number(v)
        if number is not None:
            out[name] = number
        elif isinstance(v, Mapping):
            _flatten_numbers(v, name + ".", out, depth + 1)


# ---------------------------------------------------------------------------------------------
# JSON-able values and scikit-learn estimators

_LIST_CAP = 10_000
_ARRAY_CAP = 1000  # numeric arrays up to this many items are stored as lists
DEFAULT_PARAM_MAX_CHARS = 256
_PREVIEW_CHARS = 60


def _numpy() -> Any:
    """numpy if the process has imported it, else None. A module that another thread is
    still importing has no ``ndarray`` yet: None too, rather than an AttributeError."""
    np = sys.modules.get("numpy")
    return np if hasattr(np, "ndarray") and hasattr(np, "generic") else None


def param_char_cap(environ: Mapping[str, str] = os.environ) -> int:
    """The longest param value stored as it is, in characters of its JSON text:
    ``XTRACK_PARAM_MAX_CHARS``, else ``DEFAULT_PARAM_MAX_CHARS``. ValueError, naming the
    variable, when it is set to anything but a whole number of at least 16."""
    text = environ.get("XTRACK_PARAM_MAX_CHARS", "").strip()
    if not text:
        return DEFAULT_PARAM_MAX_CHARS
    try:
        cap = int(text)
    except ValueError:
        cap = -1
    if cap < 16:
        raise ValueError(
            f"XTRACK_PARAM_MAX_CHARS={text!r} is not a whole number of at least 16; "
            f"params longer than {DEFAULT_PARAM_MAX_CHARS} characters are stored by hash"
        )
    return cap


def _cap_or_default() -> int:
    try:
        return param_char_cap()
    except ValueError:  # reported once per run by the recorder; never break a log_params
        return DEFAULT_PARAM_MAX_CHARS


def jsonable(value: Any, cap: int | None = None) -> tuple[Any, bool]:
    """Return ``(json_value, replaced)``: ``value`` as JSON-able data, and whether it had to be
    stood in for, by its ``repr`` (in part or whole) or by its digest.

    None, bool, int, float (NaN and infinities kept), str pass through; numpy scalars become
    Python numbers; lists, tuples, sets and numpy arrays of up to 1000 items become lists;
    dicts keep their str keys (others are converted with ``str``); paths become str. Other
    objects are stored as their repr, with memory addresses blanked (``normalise_repr``), so
    the same code gives the same value in every run.

    A value whose JSON text is longer than ``cap`` characters (default ``param_char_cap()``),
    and a larger numeric array, is stored by digest: ``"<13559 chars xxh3:89ab...> [[0.1, ..."``
    (size, xxh3-64 of its text, or of the array's dtype, shape and bytes, then a preview), so
    runs compare equal exactly when the values are equal and a store never holds megabytes
    of one param. The preview and digest are of the redacted text: no secret leaks through.
    """
    np = _numpy()
    if np is not None and isinstance(value, np.ndarray) and value.size > _ARRAY_CAP:
        digest = _array_digest(value, np)
        if digest is not None:
            return digest, True
    converted, replaced = _jsonable(value, 0)
    if isinstance(converted, (str, list, dict)):
        text = converted if isinstance(converted, str) else json.dumps(converted, ensure_ascii=False)
        if len(text) > (_cap_or_default() if cap is None else cap):
            return _digest_form(f"{len(text)} chars", redact_text(text)), True
    return converted, replaced


def _digest_form(what: str, text: str, digest: str | None = None) -> str:
    """``"<{what} xxh3:{16 hex}> {preview}…"``: the digest (of ``text`` unless given) first, so
    a cut display (40 characters in ``xtrack compare``) still shows whether two values differ."""
    if digest is None:
        import xxhash  # lazy: only values over the cap need it

        digest = xxhash.xxh3_64_hexdigest(text.encode())
    preview = text[:_PREVIEW_CHARS] + ("…" if len(text) > _PREVIEW_CHARS else "")
    return f"<{what} xxh3:{digest}> {preview}"


def _array_digest(array: Any, np: Any) -> str | None:
    """A large numeric array by the digest of its dtype, shape and bytes (read in place, not
    copied, when the array is contiguous); None for other arrays."""
    if array.dtype.kind not in "biufc":
        return None
    import xxhash  # lazy: only large arrays need it

    data = np.ascontiguousarray(array)
    hasher = xxhash.xxh3_64(f"{data.dtype.str}{data.shape}".encode())
    hasher.update(data.reshape(-1).view(np.uint8))  # a view: no copy
    preview = json.dumps(data.ravel()[:12].tolist()) if data.dtype.kind != "c" else ""
    return _digest_form(f"{data.dtype.name} array {data.shape}", preview, hasher.hexdigest())


def _jsonable(value: Any, depth: int) -> tuple[Any, bool]:
    if value is None or type(value) in (bool, int, float, str):
        return value, False
    # subclasses (numpy.float64, IntEnum, str enums) as their plain base type
    for base in (bool, int, float, str):
        if isinstance(value, base):
            return base(value), False
    if depth > 20:
        return _repr(value), True
    if isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
        if isinstance(value, (set, frozenset)):
            try:
                items = sorted(items)
            except TypeError:
                pass
        if len(items) > _LIST_CAP:
            return _repr(value), True
        out, replaced = [], False
        for item in items:
            v, r = _jsonable(item, depth + 1)
            out.append(v)
            replaced |= r
        return out, replaced
    if isinstance(value, Mapping):
        d: dict[str, Any] = {}
        replaced = False
        for k, v in value.items():
            jv, r = _jsonable(v, depth + 1)
            d[k if isinstance(k, str) else str(k)] = jv
            replaced |= r
        return d, replaced
    np = _numpy()
    if np is not None:
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            return value.item(), False
        if isinstance(value, np.ndarray) and value.dtype.kind in "biufU" and value.size <= _ARRAY_CAP:
            return value.tolist(), False
    import os

    if isinstance(value, os.PathLike):
        return os.fspath(value) if isinstance(os.fspath(value), str) else _repr(value), False
    return _repr(value), True


def _repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception as exc:
        text = f"<{type(value).__qualname__}: repr failed: {exc!r}>"
    return normalise_repr(text)


_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,16}\b")


def normalise_repr(text: str) -> str:
    """``text`` with memory addresses blanked: ``<function f at 0x7f3a...>`` and
    ``RandomState(MT19937) at 0x7F...`` become ``... at 0x…``, as do ``id=0x...`` forms, so
    the repr of the same object in two runs is the same text."""
    return _ADDRESS.sub("0x…", text)


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b) and not (
        isinstance(a, (int, float)) and isinstance(b, (int, float))
    ):
        return False
    try:
        return bool(a == b)
    except Exception:  # arrays and other objects without a truth value: not "the default"
        return False


def _describe(value: Any, base_estimator: type) -> Any:
    """Estimators inside parameter values (Pipeline steps, meta-estimators) by class name."""
    if isinstance(value, base_estimator):
        return type(value).__name__
    if isinstance(value, (list, tuple)):
        return [_describe(v, base_estimator) for v in value]
    return value


def _init_defaults(cls: type) -> dict[str, Any]:
    try:
        sig = inspect.signature(cls)  # the constructor's parameters, without self
    except (TypeError, ValueError):
        return {}
    return {
        name: p.default
        for name, p in sig.parameters.items()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


_NO_DEFAULT = inspect.Parameter.empty


def _estimator_base() -> Any:
    """scikit-learn's BaseEstimator when scikit-learn is imported (never imports it)."""
    module = sys.modules.get("sklearn.base")
    return module.BaseEstimator if module is not None else None


def estimator_params(name: str, obj: Any) -> dict[str, Any]:
    """The non-default constructor parameters of a scikit-learn estimator, as
    ``{f"{name}.{param}": value}``; ``{}`` for anything else.

    Only looks when scikit-learn is already imported. Estimators given as parameters
    (Pipeline steps, ``GridSearchCV(estimator=)``) appear by class name and their own
    non-default parameters follow with scikit-learn's ``step__param`` names
    (``model.clf__C``). Other values are as the estimator holds them: ``ActiveRun.log_params``
    makes them JSON-able (``jsonable``: a repr is flagged, a long value kept by digest) and
    redacts them, as it does every param. Never raises.
    """
    base = _estimator_base()
    if base is None or not isinstance(obj, base) or isinstance(obj, type):
        return {}
    try:
        params = obj.get_params(deep=True)
    except Exception:
        return {}
    out: dict[str, Any] = {}
    defaults_cache: dict[type, dict[str, Any]] = {}
    for key, value in params.items():
        owner_key, _, param = key.rpartition("__")
        owner = params.get(owner_key) if owner_key else obj
        if owner is None or not isinstance(owner, base):
            continue
        cls = type(owner)
        if cls not in defaults_cache:
            defaults_cache[cls] = _init_defaults(cls)
        defaults = defaults_cache[cls]
        if param not in defaults:
            continue  # e.g. a Pipeline's step names, already listed in "steps"
        default = defaults[param]
        if default is not _NO_DEFAULT and _same(value, default):
            continue
        out[f"{name}.{key}"] = _describe(value, base)
    return out


def _estimator_setting(obj: Any, key: str) -> tuple[bool, Any]:
    """``(True, value)`` of setting ``key`` (``C``, ``clf__C``) of an estimator, default or
    not; ``(False, None)`` when ``obj`` is no estimator or has no such setting."""
    base = _estimator_base()
    if base is None or not isinstance(obj, base) or isinstance(obj, type):
        return False, None
    try:
        params = obj.get_params(deep=True)
    except Exception:
        return False, None
    if key not in params:
        return False, None
    return True, _describe(params[key], base)


# ---------------------------------------------------------------------------------------------
# a cell's params, loops included


def cell_params(
    analysis: Mapping[str, Any],
    user_ns: Mapping[str, Any],
    exclude: Callable[[str], bool] = lambda name: False,
) -> tuple[dict[str, Any], dict[str, ParamVariation]]:
    """The params of a cell that has run: ``(params, varying)``.

    ``analysis`` is ``analyze_cell``'s result, ``user_ns`` the namespace the cell left,
    ``exclude`` names that are not params (metric-like names). ``params`` holds the literal
    params, the loop params and the non-default settings of the scikit-learn estimators the
    cell binds or whose settings its loops set, values as they are (``ActiveRun.log_params``
    converts, caps and redacts them). A param that a loop changes is never stored as its last
    value silently: ``varying`` says, for each such key,

    - ``"values"``: the stored value is the list of the values the loop gives it, in order
      (``C`` and ``clf.C`` for ``for C in (1, 0.1): clf = LogisticRegression(C=C)``);
    - ``"varies"``: its values are not known from the code (``for C in np.logspace(...)``,
      ``for clf in models``); the stored value is the one the cell ended with.
    """
    params = {k: v for k, v in (analysis.get("literal_params") or {}).items() if not exclude(k)}
    varying: dict[str, ParamVariation] = {}
    settings: Mapping[str, str | None] = analysis.get("loop_settings") or {}
    feeding = set(settings.values())
    known: dict[str, list[Any]] = {}  # loop names whose values are known
    for name, how in (analysis.get("loop_params") or {}).items():
        values = _loop_values(how, user_ns)
        if values is not None:
            known[name] = values
        if exclude(name) or ("iterates" in how and name not in feeding):
            continue  # `for i in idx` sets nothing worth a param unless it feeds a setting
        if values is not None and not is_plot_setting(name, values):
            params[name], varying[name] = values, "values"
        elif "varies" in how and name in user_ns:
            params[name], varying[name] = user_ns[name], "varies"
    objects = set(analysis.get("loop_objects") or ())
    owners = [*(analysis.get("assigned_names") or ()), *(k.partition(".")[0] for k in settings)]
    for owner in dict.fromkeys(owners):
        if owner in user_ns:
            _owner_params(owner, user_ns[owner], settings, known, owner in objects,
                          params, varying)
    return params, varying


def _owner_params(owner: str, obj: Any, settings: Mapping[str, str | None],
                  known: Mapping[str, list[Any]], rebound: bool,
                  params: dict[str, Any], varying: dict[str, ParamVariation]) -> None:
    """An estimator's params into ``params``/``varying``: settings a loop feeds from known
    values as those values, other fed settings and every setting of an object a loop
    rebinds as varying, the rest as they are."""
    found = estimator_params(owner, obj)
    for key in settings:  # a fed setting may end on its default: still a param
        if key.partition(".")[0] == owner and key not in found:
            present, value = _estimator_setting(obj, key.partition(".")[2])
            if present:
                found[key] = value
    for key, value in found.items():
        source = settings.get(key)
        if source is not None and source in known:
            params[key], varying[key] = known[source], "values"
        elif key in settings or rebound:
            params[key], varying[key] = value, "varies"
        else:
            params[key] = value


_SCALARS = (bool, int, float, str, type(None))


def _loop_values(how: Mapping[str, Any], user_ns: Mapping[str, Any]) -> list[Any] | None:
    """The values of a loop param: written in the cell, or read from the variable it iterates
    over when that holds up to 1000 plain scalars (a list, tuple, range or 1-d array)."""
    if "values" in how:
        return list(how["values"])
    source = user_ns.get(how.get("iterates") or "", None)
    np = _numpy()
    if np is not None and isinstance(source, np.ndarray):
        if source.ndim != 1 or source.size > _ARRAY_CAP or source.dtype.kind not in "biufU":
            return None
        return list(source.tolist())
    if isinstance(source, (list, tuple, range)) and len(source) <= _ARRAY_CAP:
        items = list(source)
        if all(isinstance(v, _SCALARS) for v in items):
            return [jsonable(v)[0] for v in items]
    return None
