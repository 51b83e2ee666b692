"""Parameters and metrics read off a cell: its literal assignments, metric-like variables,
scikit-learn estimators and its result value.
"""

from __future__ import annotations

import ast
import inspect
import math
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from jupyter_xtrack.capture.redact import redact_mapping, redact_param

__all__ = [
    "METRIC_NAME_PATTERN",
    "analyze_cell",
    "estimator_params",
    "jsonable",
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


def _target_names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for e in target.elts for n in _target_names(e)]
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    return []  # attributes and subscripts bind no name


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
            into.update(dict.fromkeys(_target_names(t)))
    elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        into.update(dict.fromkeys(_target_names(stmt.target)))
    elif isinstance(stmt, (ast.For, ast.AsyncFor)):
        into.update(dict.fromkeys(_target_names(stmt.target)))
    elif isinstance(stmt, (ast.With, ast.AsyncWith)):
        for item in stmt.items:
            if item.optional_vars is not None:
                into.update(dict.fromkeys(_target_names(item.optional_vars)))
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

    Returns ``{literal_params, assigned_names, referenced_names, calls_log, last_expr}``:

    - ``literal_params``: ``{name: value}`` for unconditional top-level ``name = <literal>``
      (numbers incl. negative, str, bool, None, and lists/tuples/dicts/sets of them; tuples
      and sets become lists), also through ``a = b = 1``, ``a, b = 1, 2`` and ``x: int = 3``.
      The last assignment of a name wins. Values are redacted (``redact.redact_param``): a
      secret name (``api_key``, ``db_password``) keeps its name with the value ``[REDACTED]``,
      and token formats in string values are hidden (``token = "ghp_..."``).
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
    result.update(
        literal_params=redact_mapping(params),
        assigned_names=list(assigned),
        # in order of first appearance in the text (ast.walk is breadth-first)
        referenced_names=sorted(first_use, key=first_use.__getitem__),
        calls_log=calls_log,
        last_expr=last_expr,
    )
    return result


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

_REPR_CAP = 1000
_LIST_CAP = 10_000


def jsonable(value: Any) -> tuple[Any, bool]:
    """Return ``(json_value, replaced)``: ``value`` as JSON-able data, and whether any part of
    it had to be replaced by its ``repr`` (cut at 1000 characters).

    None, bool, int, float (NaN and infinities kept), str pass through; numpy scalars become
    Python numbers; lists, tuples, sets and small numpy arrays become lists; dicts keep their
    str keys (others are converted with ``str``); paths become str.
    """
    return _jsonable(value, 0)


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
    np = sys.modules.get("numpy")
    if np is not None:
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            return value.item(), False
        if isinstance(value, np.ndarray) and value.dtype.kind in "biufU" and value.size <= 1000:
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
    return text if len(text) <= _REPR_CAP else text[: _REPR_CAP - 3] + "..."


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


def estimator_params(name: str, obj: Any) -> dict[str, Any]:
    """The non-default constructor parameters of a scikit-learn estimator, as
    ``{f"{name}.{param}": value}``; ``{}`` for anything else.

    Only looks when scikit-learn is already imported. Values are made JSON-able with
    ``jsonable``; estimators given as parameters (Pipeline steps, ``GridSearchCV(estimator=)``)
    appear by class name and their own non-default parameters follow with scikit-learn's
    ``step__param`` names (``model.clf__C``). Values are redacted as in ``analyze_cell``.
    Never raises.
    """
    if "sklearn.base" not in sys.modules:
        return {}
    base = sys.modules["sklearn.base"].BaseEstimator
    if not isinstance(obj, base) or isinstance(obj, type):
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
        full = f"{name}.{key}"
        out[full] = redact_param(full, jsonable(_describe(value, base))[0])
    return out
