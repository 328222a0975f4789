"""Column expressions in config files, evaluated as Ibis expressions (so they run on any engine).

A config maps a real export onto the data contract with small Python-like expressions over the
export's columns, for example ``Quantity * UnitPrice``, ``InvoiceNo.startswith('C')``,
``'cancelled' if InvoiceNo.startswith('C') else 'paid'`` or ``CustomerID.notnull()``. They are
parsed with :mod:`ast` and only a whitelist of operators, functions and column methods is
accepted, so a config can never run arbitrary code. A column whose name is not an identifier is
written ``col('Invoice No')``.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from functools import partial
from typing import Any

import ibis
import ibis.expr.types as ir
from ibis.common.exceptions import IbisError

from opsbook.engine import exact_mean, exact_sum
from opsbook.errors import InputError, did_you_mean, first_line

# Column methods a config may call: string, numeric, temporal and aggregate verbs of Ibis.
ALLOWED_METHODS = frozenset(
    [
        "abs",
        "approx_nunique",
        "arbitrary",
        "as_timestamp",
        "between",
        "cast",
        "ceil",
        "clip",
        "contains",
        "count",
        "date",
        "day",
        "day_of_week",
        "endswith",
        "epoch_seconds",
        "exp",
        "fill_null",
        "first",
        "floor",
        "hour",
        "isin",
        "isnull",
        "last",
        "left",
        "length",
        "log",
        "lower",
        "lstrip",
        "max",
        "mean",
        "min",
        "minute",
        "month",
        "notin",
        "notnull",
        "nullif",
        "nunique",
        "quarter",
        "re_extract",
        "re_replace",
        "re_search",
        "replace",
        "right",
        "round",
        "rstrip",
        "sign",
        "split",
        "sqrt",
        "startswith",
        "std",
        "strftime",
        "strip",
        "substr",
        "sum",
        "time",
        "to_date",
        "to_timestamp",
        "truncate",
        "try_cast",
        "upper",
        "var",
        "week_of_year",
        "year",
    ]
)

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_SYMBOLS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}
_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


# aggregates of a float column taken exactly, so that a mapped table (an invoice's amount, the
# sum of its lines) is the same whatever order the engine adds the rows in (opsbook.engine)
EXACT_AGGREGATES = {"sum": exact_sum, "mean": exact_mean}


# bounds on the cost of one expression before any engine sees it: its length, the depth of its
# tree and the constants it computes (every arithmetic on constants is the engine's, lazily)
MAX_LENGTH = 2_000
MAX_DEPTH = 40
# Ibis's own errors on a well-formed call (a wrong keyword, text minus a number, a missing
# column given to col()): refused with the expression, never raised as they are
_CALL_ERRORS = (TypeError, AttributeError, ValueError, KeyError, IndexError, OverflowError)


class ExpressionError(InputError):
    """A config expression that cannot be parsed or uses something not allowed."""


def _functions(table: ir.Table) -> dict[str, Any]:
    return {
        "col": lambda name: _column(table, name),
        "ifelse": ibis.ifelse,
        "coalesce": ibis.coalesce,
        "least": ibis.least,
        "greatest": ibis.greatest,
        "literal": ibis.literal,
        "date": ibis.date,
        "timestamp": ibis.timestamp,
        "null": ibis.null,
    }


def _column(table: ir.Table, name: Any) -> ir.Column:
    if not isinstance(name, str) or name not in table.columns:
        raise ExpressionError(
            "core.expr.no_column",
            column=repr(name),
            hint=did_you_mean(str(name), table.columns),
            columns=", ".join(table.columns),
        )
    return table[name]


def _depth(node: ast.AST) -> int:
    """The depth of an expression's tree, counted without recursion (a hostile tree may be
    deeper than Python's own recursion limit)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        current, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(current))
    return deepest


def parse(text: str) -> ast.Expression:
    """The syntax tree of a config expression, refused when it is not an expression, longer
    than :data:`MAX_LENGTH` characters or nested deeper than :data:`MAX_DEPTH`."""
    text = str(text).strip()
    if len(text) > MAX_LENGTH:
        raise ExpressionError("core.expr.too_long", length=len(text), limit=MAX_LENGTH)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError("core.expr.syntax", problem=exc.msg) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("core.expr.too_deep", limit=MAX_DEPTH) from None
    if _depth(tree) > MAX_DEPTH:
        raise ExpressionError("core.expr.too_deep", limit=MAX_DEPTH)
    return tree


def evaluate(text: str, table: ir.Table) -> ir.Value:
    """The Ibis expression that ``text`` describes over the columns of ``table``.

    Constants are never computed here: arithmetic on them is handed to the engine as literals
    (``9 ** 9 ** 9`` is the engine's infinity, not a Python integer of 370 million digits), a
    division by the constant 0 is refused, and so is repeating text (``'a' * 10**9``)."""
    tree = parse(text)
    functions = _functions(table)

    def ev(node: ast.AST) -> Any:
        match node:
            case ast.Expression(body=body):
                return ev(body)
            case ast.Constant(value=value) if value is None or isinstance(
                value, bool | int | float | str
            ):
                return value
            case ast.Name(id=name):
                return _column(table, name)
            case ast.List(elts=elts) | ast.Tuple(elts=elts):
                return [ev(e) for e in elts]
            case ast.BinOp(left=left, op=op, right=right) if type(op) in _BINARY:
                return _arithmetic(op, ev(left), ev(right))
            case ast.UnaryOp(op=ast.USub(), operand=operand):
                return -_lazy(ev(operand))
            case ast.UnaryOp(op=ast.Not(), operand=operand):
                return ~_as_bool(ev(operand))
            case ast.BoolOp(op=op, values=values):
                parts = [_as_bool(ev(v)) for v in values]
                result = parts[0]
                for part in parts[1:]:
                    result = (result & part) if isinstance(op, ast.And) else (result | part)
                return result
            case ast.Compare(left=left, ops=ops, comparators=comparators):
                return _compare(ev(left), ops, [ev(c) for c in comparators])
            case ast.IfExp(test=test, body=body, orelse=orelse):
                return ibis.ifelse(_as_bool(ev(test)), ev(body), ev(orelse))
            case ast.Call(func=ast.Attribute(value=target, attr=method), args=args, keywords=kw):
                if method not in ALLOWED_METHODS:
                    raise ExpressionError(
                        "core.expr.method",
                        method=repr(method),
                        hint=did_you_mean(method, ALLOWED_METHODS),
                    )
                subject = ev(target)
                if not isinstance(subject, ir.Value):
                    subject = ibis.literal(subject)
                if not hasattr(subject, method):
                    raise ExpressionError(
                        "core.expr.method_type", method=method, kind=str(subject.type())
                    )
                call = getattr(subject, method)
                if method in EXACT_AGGREGATES and subject.type().is_floating():
                    call = partial(EXACT_AGGREGATES[method], subject)
                return call(*map(ev, args), **_keywords(kw, ev))
            case ast.Call(func=ast.Name(id=name), args=args, keywords=kw) if name in functions:
                return functions[name](*map(ev, args), **_keywords(kw, ev))
        raise ExpressionError("core.expr.not_allowed", part=repr(ast.unparse(node)))

    try:
        result = ev(tree)
        return result if isinstance(result, ir.Value) else ibis.literal(result)
    except ExpressionError as exc:
        raise ExpressionError("core.expr.refused", expression=repr(text), reason=exc) from None
    except (*_CALL_ERRORS, IbisError) as exc:
        raise ExpressionError(
            "core.expr.refused",
            expression=repr(text),
            reason=ExpressionError("core.expr.engine", detail=first_line(exc)),
        ) from None


def _keywords(keywords: list[ast.keyword], ev: Callable[[ast.AST], Any]) -> dict[str, Any]:
    if any(k.arg is None for k in keywords):  # **kwargs
        raise ExpressionError("core.expr.not_allowed", part="'**'")
    return {k.arg: ev(k.value) for k in keywords}


def _lazy(value: Any) -> Any:
    """A Python number as an engine literal, so that arithmetic on it is the engine's."""
    if isinstance(value, bool | int | float) and not isinstance(value, ir.Value):
        return ibis.literal(value)
    return value


def _is_text(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, ir.Value) and value.type().is_string())


def _arithmetic(op: ast.operator, left: Any, right: Any) -> Any:
    symbol = _SYMBOLS[type(op)]
    concatenation = isinstance(op, ast.Add) and _is_text(left) and _is_text(right)
    if (_is_text(left) or _is_text(right)) and not concatenation:
        raise ExpressionError("core.expr.text_arithmetic", operator=symbol)
    divides = isinstance(op, ast.Div | ast.FloorDiv | ast.Mod)
    if (
        divides
        and isinstance(right, int | float)
        and not isinstance(right, ir.Value)
        and right == 0
    ):
        raise ExpressionError("core.expr.zero_divisor", operator=symbol)
    if not isinstance(left, ir.Value) and not isinstance(right, ir.Value):
        left = ibis.literal(left) if isinstance(left, str) else _lazy(left)
    return _BINARY[type(op)](_lazy(left), _lazy(right))


def _as_bool(value: Any) -> Any:
    return value if isinstance(value, ir.Value) else ibis.literal(bool(value))


def _compare(left: Any, ops: list[ast.cmpop], rights: list[Any]) -> ir.BooleanValue:
    result = None
    for op, right in zip(ops, rights, strict=True):
        if isinstance(op, ast.In):
            part = left.isin(right)
        elif isinstance(op, ast.NotIn):
            part = left.notin(right)
        elif isinstance(op, ast.Is | ast.IsNot) and right is None:
            part = left.isnull() if isinstance(op, ast.Is) else left.notnull()
        elif type(op) in _COMPARE:
            part = _COMPARE[type(op)](left, right)
        else:
            raise ExpressionError("core.expr.not_allowed", part=type(op).__name__)
        result = part if result is None else (result & part)
        left = right
    return result
