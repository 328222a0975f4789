"""Hostile or mistaken mapping expressions: refused with the setting that holds them, in bounded
time, and the whitelist as strict as ever (no code, no SQL, no file access)."""

from __future__ import annotations

import time

import pytest

from .conftest import Shop


def _derive(expression: str) -> str:
    quoted = expression.replace("'", "''")
    return f"data:\n  source: data\n  tables:\n    orders:\n      derive: {{x: '{quoted}'}}\nlang: en\n"


# the expression, and the words of the refusal (after "setting data.tables.orders.derive.x")
EXPRESSIONS = {
    # bounded cost
    "tower of powers": ("9 ** 9 ** 9 ** 9 + amount.abs() + 'a'", "text cannot take part in +"),
    "text repeated a billion times": ("'a' * 1000000000", "text cannot take part in *"),
    "column text repeated": ("user_id * 1000000", "text cannot take part in *"),
    "deep nesting": ("(" * 60 + "amount" + " + 1)" * 60, "nests deeper than"),
    "deep unary": ("-" * 200 + "amount", "nests deeper than"),
    "deep sums": ("+".join(["amount"] * 100), "nests deeper than"),
    "very long": ("amount + " * 400 + "1", "characters long, more than"),
    "deep parser recursion": ("[" * 1000 + "]" * 1000, "x"),
    # arithmetic that cannot be
    "divide by zero": ("amount / 0", "divides by the constant 0"),
    "floor divide by zero": ("amount // 0", "divides by the constant 0"),
    "modulo zero": ("amount % 0", "divides by the constant 0"),
    "divide by zero float": ("amount / 0.0", "divides by the constant 0"),
    "constant divided by zero": ("1 / 0", "divides by the constant 0"),
    "subtract text": ("user_id - 1", "text cannot take part in -"),
    "text minus text": ("user_id - order_id", "text cannot take part in -"),
    "text times number": ("'abc' * 3", "text cannot take part in *"),
    "text power": ("user_id ** 2", "text cannot take part in **"),
    "text divided": ("order_id / 2", "text cannot take part in /"),
    "number plus text": ("amount + 'x'", "text cannot take part in +"),
    # names and calls that do not exist
    "missing column": ("Quantity * amount", "no column 'Quantity'"),
    "missing column near a real one": ("amont * 2", "did you mean amount?"),
    "col of a missing column": ("col('Unit Price') * 2", "no column 'Unit Price'"),
    "col of a number": ("col(3)", "no column 3"),
    "unknown keyword": ("amount.round(digitz=2)", "cannot be computed"),
    "unknown keyword of a function": ("coalesce(amount, defualt=0)", "cannot be computed"),
    "too many arguments": ("amount.round(1, 2, 3)", "cannot be computed"),
    "unknown method": ("amount.rounded(2)", "method 'rounded' is not allowed"),
    "method typo": ("user_id.uper()", "did you mean upper?"),
    "method of another type": ("amount.upper()", "has no method upper"),
    "unknown function": ("round(amount)", "is not allowed in a config expression"),
    "syntax error": ("amount *", "cannot parse it"),
    "statement": ("x = amount", "cannot parse it"),
    "empty": ("", "cannot parse it"),
    "keyword splat": ("coalesce(**{'a': 1})", "not allowed"),
    # the whitelist
    "import": ("__import__('os').system('touch /tmp/pwned')", "is not allowed"),
    "dunder walk": ("amount.__class__.__mro__", "is not allowed"),
    "dunder method": ("amount.__getattribute__('execute')()", "is not allowed"),
    "execute": ("amount.execute()", "method 'execute' is not allowed"),
    "sql": ("amount.sql('select 1')", "method 'sql' is not allowed"),
    "lambda": ("(lambda: 1)()", "is not allowed"),
    "comprehension": ("[c for c in amount]", "is not allowed"),
    "generator": ("sum(c for c in [1])", "is not allowed"),
    "eval": ("eval('1')", "is not allowed"),
    "getattr": ("getattr(amount, 'execute')", "is not allowed"),
    "open": ("open('/etc/passwd').read()", "is not allowed"),
    "f-string": ("f'{amount}'", "is not allowed"),
    "subscript": ("amount[0]", "is not allowed"),
    "attribute access": ("amount.op", "is not allowed"),
    "walrus": ("(y := amount)", "is not allowed"),
    "starred": ("coalesce(*[amount])", "is not allowed"),
    "bytes": ("b'abc'", "is not allowed"),
    "ellipsis": ("...", "is not allowed"),
    "complex number": ("amount * 1j", "is not allowed"),
    "set literal": ("{1, 2}", "is not allowed"),
    "dict literal": ("{'a': 1}", "is not allowed"),
    "unicode look-alike": ("аmount * 2", "no column"),  # a Cyrillic а
    "bitwise": ("amount & 1", "is not allowed"),
    "matrix multiply": ("amount @ amount", "is not allowed"),
}


@pytest.mark.parametrize("case", EXPRESSIONS, ids=list(EXPRESSIONS))
def test_a_bad_expression_is_refused_quickly(shop: Shop, case: str):
    expression, fragment = EXPRESSIONS[case]
    shop.write_config(_derive(expression))
    started = time.perf_counter()
    outcome = shop.refused(["validate"], "setting data.tables.orders.derive.x")
    assert fragment in outcome.err or case == "deep parser recursion", outcome.err
    assert time.perf_counter() - started < 10


def test_powers_of_constants_are_the_engines(shop: Shop):
    """``9 ** 9 ** 9`` is not computed in Python (370 million digits): the engine evaluates it,
    lazily, to infinity, which validation counts as an amount that is not finite."""
    shop.write_config(_derive("9 ** 9 ** 9").replace("derive: {x:", "derive: {amount:"))
    started = time.perf_counter()
    outcome = shop.run("validate")
    assert time.perf_counter() - started < 10
    assert "Traceback" not in outcome.text
    assert "amount_nonnegative" in outcome.err and outcome.code == 1


@pytest.mark.parametrize(
    ("setting", "fragment"),
    [
        ("filter: {positive: 'amount >'}", "setting data.tables.orders.filter.positive"),
        ("filter: {positive: 'amount * 2'}", "must be true or false"),
        ("filter: 'nosuch > 0'", "setting data.tables.orders.filter.filter 1"),
        ("aggregate: {by: [user_id], values: {amount: 'amount'}}", "cannot aggregate so"),
        (
            "aggregate: {by: {order_id: 'nosuch'}}",
            "setting data.tables.orders.aggregate.by.order_id",
        ),
        (
            "aggregate: {by: [order_id], values: {amount: 'amount.sum() / 0'}}",
            "divides by the constant 0",
        ),
        ("rename: {Amount: amount}", "cannot rename column Amount"),
        ("rename: {amont: amount}", "did you mean amount?"),
    ],
)
def test_every_mapping_setting_names_itself(shop: Shop, setting: str, fragment: str):
    shop.write_config(f"data:\n  source: data\n  tables:\n    orders: {{{setting}}}\nlang: en\n")
    shop.refused(["validate"], fragment)
