"""Hostile broker values (issue #15, item 1): exact values or typed refusals, within a bound.

The table (`hostile_values`) puts every literal of every class into every numeric field of
every REST parser, through `parse_envelope`, in a child process so that a parse that never
returns fails the test instead of hanging it. Hypothesis then generates more of each kind.
Print the per-class figures with `python -m tests.unit.adapters.angelone.hostile_values`.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from algo_trading.adapters.brokers.angelone.errors import AngelOneError, MalformedResponseError
from algo_trading.adapters.brokers.angelone.parsing import (
    parse_candles,
    parse_envelope,
    parse_order_book,
    parse_positions,
    parse_quote,
)
from algo_trading.adapters.brokers.angelone.parsing_values import (
    amount_paise,
    integer,
    loads_exact,
    price_paise,
    text,
)
from tests.unit.adapters.angelone.hostile_values import (
    CALL_BOUND_S,
    CLASSES,
    INT64_MAX,
    TARGETS,
    Case,
    Kind,
    cases,
    expect,
    handled,
    run_bounded,
    run_case,
)

OB = "/rest/secure/angelbroking/order/v1/getOrderBook"
R = "/route"


def test_every_hostile_value_in_every_field_is_read_exactly_or_refused_by_name() -> None:
    todo = cases()
    results = run_bounded(kill_after_s=10.0)
    bad = [
        f"{case}: {outcome[:4] if outcome[0] != 'value' else f'{outcome[1]!r:.40}'} in {t:.2f}s"
        for case, (outcome, t) in zip(todo, results, strict=True)
        if not handled(case, outcome, t)
    ]
    assert not bad, f"{len(bad)} of {len(todo)} cases mishandled:\n" + "\n".join(bad[:20])


def _order_book(field: str, literal: str) -> bytes:
    row = {"orderid": "1", "status": "open", "tradingsymbol": "X", "exchange": "NSE",
           "transactiontype": "BUY", "ordertype": "LIMIT", "producttype": "INTRADAY",
           "variety": "NORMAL", "duration": "DAY", "quantity": "1", "price": 1}  # fmt: skip
    body = {"status": True, "message": "", "errorcode": "", "data": [row, {**row, field: "@@"}]}
    return json.dumps(body).replace('"@@"', literal).encode()


@pytest.mark.parametrize(
    ("field", "literal", "problem"),
    [
        ("quantity", '"1e999999999"', "out of range"),
        ("quantity", "1e999999999", "out of range"),
        ("price", '"1e999999"', "out of range"),
        ("price", '"1e-999999999"', "finer than one paisa"),
        ("price", '"1.000000000000000000000000000001"', "finer than one paisa"),
        ("price", '"-1"', "cannot be negative"),
        ("quantity", '"-5"', "cannot be negative"),
        ("quantity", '"\u0661\u0662"', "not a number"),
        ("price", '"sNaN"', "not a number"),
        ("price", '"1_000"', "not a number"),
        ("price", "1" * 5000, "more than 40 significant digits"),
        ("orderid", "[[1]]", "not text"),
    ],
)
def test_the_issue_examples_are_refused_naming_the_route_and_the_row_field(
    field: str, literal: str, problem: str
) -> None:
    start = time.perf_counter()
    with pytest.raises(MalformedResponseError) as caught:
        parse_order_book(OB, parse_envelope(OB, 200, _order_book(field, literal)))
    assert time.perf_counter() - start < CALL_BOUND_S
    assert (caught.value.route, caught.value.field) == (OB, f"data[1].{field}")
    assert problem in caught.value.problem


def test_a_deeply_nested_body_is_refused_as_a_whole_without_a_recursion_error() -> None:
    for body in (b"[" * 100_000 + b"]" * 100_000, "{" + '"a":{' * 10_000):
        with pytest.raises(MalformedResponseError, match="nests deeper than 32"):
            loads_exact(OB, body)


def test_a_body_nested_32_levels_is_read_and_33_levels_is_refused() -> None:
    deepest_allowed = "[" * 31 + "{}" + "]" * 31
    assert loads_exact(OB, deepest_allowed) == json.loads(deepest_allowed)
    with pytest.raises(MalformedResponseError, match="nests deeper than 32"):
        loads_exact(OB, '{"a":' * 16 + "[" * 17 + "]" * 17 + "}" * 16)


def test_a_candle_beyond_the_int64_nanosecond_range_is_refused_by_name() -> None:
    with pytest.raises(MalformedResponseError) as caught:
        parse_candles(R, [["2025-01-01T09:15:00+05:30", 1, 1, 1, 1, 1],
                          ["9999-12-31T09:15:00+05:30", 1, 1, 1, 1, 1]])  # fmt: skip
    assert caught.value.field == "data[1].timestamp"


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    deep_text = '"' + "[" * 1000 + '\\"{{{"'
    assert loads_exact(OB, '{"text": ' + deep_text + ', "a": [[1]]}') == {
        "text": "[" * 1000 + '"{{{',
        "a": [[1]],
    }


def test_a_quote_depth_refusal_names_the_entry_the_side_and_the_level() -> None:
    fetched = {"exchange": "NSE", "tradingSymbol": "X", "symbolToken": "1", "ltp": 1,
               "depth": {"buy": [{"price": 1, "quantity": 1, "orders": 1},
                                 {"price": "1e999999", "quantity": 1, "orders": 1}]}}  # fmt: skip
    with pytest.raises(MalformedResponseError) as caught:
        parse_quote(R, {"fetched": [fetched], "unfetched": []})
    assert caught.value.field == "fetched[0].depth.buy[1].price"


def test_signed_fields_keep_their_sign_and_exact_rounding() -> None:
    row = {"tradingsymbol": "X", "symboltoken": "1", "exchange": "NSE", "producttype": "NRML",
           "netqty": "-75", "buyqty": "0", "sellqty": "75", "buyavgprice": "0",
           "sellavgprice": "112.3547", "pnl": "- 2235.805"}  # fmt: skip
    (p,) = parse_positions(R, [row])
    assert (p.net_quantity, p.sell_avg_paise, p.pnl_paise) == (-75, 11235, -223581)


# ---- generated: more of each kind -------------------------------------------------------

_EXPONENT = st.one_of(
    st.integers(-60, 60), st.integers(-(10**12), 10**12), st.just(999_999_999), st.just(-(10**9))
)
_DIGITS = st.text("0123456789", min_size=1, max_size=60)
NUMBER_TEXT = st.builds(
    lambda sign, whole, frac, exp: f"{sign}{whole}{frac}{exp}",
    st.sampled_from(["", "-", "+", "- "]),
    _DIGITS,
    st.one_of(st.just(""), _DIGITS.map(lambda d: "." + d)),
    st.one_of(st.just(""), _EXPONENT.map(lambda e: f"e{e}")),
)
JSON_NUMBER = st.builds(  # the same, in JSON's own number grammar (no "+", no leading zeros)
    lambda sign, whole, frac, exp: f"{sign}{whole}{frac}{exp}",
    st.sampled_from(["", "-"]),
    st.integers(0, 10**60).map(str),
    st.one_of(st.just(""), _DIGITS.map(lambda d: "." + d)),
    st.one_of(st.just(""), _EXPONENT.map(lambda e: f"e{e}")),
)
ODD_TEXT = st.one_of(
    st.text(max_size=80),
    st.text(st.characters(categories=["Nd", "No", "Zs"]), max_size=20),
    st.sampled_from(["NaN", "sNaN", "-sNaN12", "Infinity", "-inf", "1_0", "0x1F", "١e٩"]),
)
WIRE_SCALARS = st.one_of(
    NUMBER_TEXT,
    ODD_TEXT,
    st.integers(-(10**60), 10**60),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.floats(),
)
READERS = {
    "price": price_paise,
    "amount": amount_paise,
    "signed_amount": lambda r, row, f: amount_paise(r, row, f, signed=True),
    "count": integer,
    "signed_count": lambda r, row, f: integer(r, row, f, signed=True),
}


def _as_literal(value: object) -> str | None:
    """The JSON text that carries `value` on the wire, or None when JSON has none."""
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else None
    if isinstance(value, float):
        return None
    return json.dumps(value)


@settings(max_examples=300)
@given(value=WIRE_SCALARS, kind=st.sampled_from(sorted(READERS)))
def test_a_reader_returns_the_exact_int64_or_a_refusal_naming_its_field(
    value: object, kind: Kind
) -> None:
    start = time.perf_counter()
    error: MalformedResponseError | None = None
    try:
        got: int | None = READERS[kind](R, {"v": value}, "v")
    except MalformedResponseError as e:
        got, error = None, e
    assert time.perf_counter() - start < CALL_BOUND_S
    assert error is None or (error.route, error.field) == (R, "v")
    if got is not None:
        assert -INT64_MAX <= got <= INT64_MAX
    literal = _as_literal(value)
    if literal is not None:  # what the wire form of it must give
        want = expect(literal, kind)
        if got is None:
            assert want.refuse or want.either, f"{literal} refused, expected {want.value}"
        else:
            assert not want.refuse, f"{literal} read as {got}, expected a refusal"
            assert got == want.value


@settings(max_examples=100)
@given(
    st.recursive(
        WIRE_SCALARS.filter(lambda v: not isinstance(v, (Decimal, float))),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=8,
    )
)
def test_text_fields_take_text_and_numbers_and_refuse_everything_else(value: object) -> None:
    error: MalformedResponseError | None = None
    try:
        got = text(R, {"v": value}, "v")
    except MalformedResponseError as e:
        error = e
    if error is not None:
        assert error.field == "v"
        assert value is None or isinstance(value, (bool, list, dict))
    else:
        assert got == (value if isinstance(value, str) else str(value))


@settings(max_examples=300)
@given(
    literal=st.one_of(
        NUMBER_TEXT.map(json.dumps),
        JSON_NUMBER,
        WIRE_SCALARS.map(_as_literal).filter(lambda t: t is not None),
        st.sampled_from([lit for lits in CLASSES.values() for lit in lits if len(lit) < 200]),
    ),
    target=st.sampled_from(TARGETS),
)
def test_any_literal_in_any_field_of_any_route_is_read_exactly_or_refused_by_name(
    literal: str, target: object
) -> None:
    case = Case("generated", literal, target)  # type: ignore[arg-type]
    start = time.perf_counter()
    outcome = run_case(case)
    elapsed = time.perf_counter() - start
    assert handled(case, outcome, elapsed), (str(case), outcome[:4])


# ---- whole bodies: the envelope is as hostile as any field ---------------------------------

_DEEP = "[" * 100_000 + "]" * 100_000
HOSTILE_BODIES = [
    b"\xff\xfe{",  # invalid UTF-8
    '{"status": true, "data": null}'.encode("utf-16"),  # valid JSON in UTF-16: json reads it
    b"\xef\xbb\xbf{}",  # a UTF-8 byte-order mark
    _DEEP.encode(),
    ('{"status": true, "data": ' + _DEEP + "}").encode(),
    ('{"status": ' + _DEEP + "}").encode(),
    b'{"status": NaN}',
    b'{"status": "1e999999999"}',
    b'{"status": 1e999999999}',
    b'{"status": false, "errorcode": ' + b"[" * 30 + b"]" * 30 + b', "message": 1e999999999}',
    b'{"status": false, "errorcode": "AB1004", "message": "' + b"x" * 1_000_000 + b'"}',
    b'{"success": ' + b"1" * 5000 + b"}",
    b'{"status": true, "data": ' + b"1" * 5000 + b"}",
    b"[" + b"{}," * 100_000 + b"{}]",
    b'{"status": true, "data": {"a": "' + b"\\u0000" * 100_000 + b'"}}',
    b'{"status": true}' + b" " * 1_000_000 + b"x",
    b"{" * 40,
    b'{"status": tru',
]


@pytest.mark.parametrize("body", HOSTILE_BODIES, ids=range(len(HOSTILE_BODIES)))
@pytest.mark.parametrize("http_status", [200, 400, 500])
def test_a_hostile_body_gives_data_or_a_typed_error_within_the_bound(
    body: bytes, http_status: int
) -> None:
    start = time.perf_counter()
    route = OB
    try:
        parse_envelope(OB, http_status, body)
    except AngelOneError as e:
        route = e.route
    assert time.perf_counter() - start < CALL_BOUND_S
    assert route == OB
