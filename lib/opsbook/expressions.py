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
from functools import partial
from typing import Any

import ibis
import ibis.expr.types as ir

from opsbook.engine import exact_mean, exact_sum

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


class ExpressionError(ValueError):
    """A config expression that cannot be parsed or uses something not allowed."""


def _functions(table: ir.Table) -> dict[str, Any]:
    return {
        "col": lambda name: table[name],
        "ifelse": ibis.ifelse,
        "coalesce": ibis.coalesce,
        "least": ibis.least,
        "greatest": ibis.greatest,
        "literal": ibis.literal,
        "date": ibis.date,
        "timestamp": ibis.timestamp,
        "null": ibis.null,
    }


def evaluate(text: str, table: ir.Table) -> ir.Value:
    """The Ibis expression that ``text`` describes over the columns of ``table``."""
    try:
        tree = ast.parse(str(text).strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"cannot parse expression {text!r}: {exc.msg}") from None
    functions = _functions(table)

    def ev(node: ast.AST) -> Any:
        match node:
            case ast.Expression(body=body):
                return ev(body)
            case ast.Constant(value=value):
                return value
            case ast.Name(id=name):
                if name in table.columns:
                    return table[name]
                raise ExpressionError(
                    f"expression {text!r}: no column {name!r}; columns are {list(table.columns)}"
                )
            case ast.List(elts=elts) | ast.Tuple(elts=elts):
                return [ev(e) for e in elts]
            case ast.BinOp(left=left, op=op, right=right) if type(op) in _BINARY:
                return _BINARY[type(op)](ev(left), ev(right))
            case ast.UnaryOp(op=ast.USub(), operand=operand):
                return -ev(operand)
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
                    raise ExpressionError(f"expression {text!r}: method {method!r} not allowed")
                subject = ev(target)
                if not isinstance(subject, ir.Value):
                    subject = ibis.literal(subject)
                call = getattr(subject, method)
                if method in EXACT_AGGREGATES and subject.type().is_floating():
                    call = partial(EXACT_AGGREGATES[method], subject)
                return call(*map(ev, args), **{k.arg: ev(k.value) for k in kw})
            case ast.Call(func=ast.Name(id=name), args=args, keywords=kw) if name in functions:
                return functions[name](*map(ev, args), **{k.arg: ev(k.value) for k in kw})
        raise ExpressionError(
            f"expression {text!r}: {ast.unparse(node)!r} is not allowed in a config expression"
        )

    result = ev(tree)
    return result if isinstance(result, ir.Value) else ibis.literal(result)


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
            raise ExpressionError(f"comparison {type(op).__name__} is not allowed")
        result = part if result is None else (result & part)
        left = right
    return result
