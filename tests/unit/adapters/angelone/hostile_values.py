"""Hostile broker values for the REST parsers (issue #15, item 1): the table and its oracle.

Each case puts one JSON literal (of a named class: huge exponents, non-finite numbers, Unicode
digits, nesting, ...) into one field of a valid body, runs the body through `parse_envelope`
and the route's parser, and compares what came out with an oracle that works from the exact
value of the literal. A case is handled when the parser returns exactly the oracle's value,
or refuses with a MalformedResponseError naming the route and the field where the oracle
refuses. `run_bounded` runs the cases in a child process so that a parse that never returns
(int() of a huge exponent holds the GIL) is a counted failure instead of a hung suite.
"""

from __future__ import annotations

import json
import multiprocessing
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    Inexact,
    InvalidOperation,
    Rounded,
    localcontext,
)
from typing import Any, Literal

from algo_trading.adapters.brokers.angelone.errors import AngelOneError, MalformedResponseError
from algo_trading.adapters.brokers.angelone.parsing import (
    parse_candles,
    parse_envelope,
    parse_funds,
    parse_holdings,
    parse_ltp,
    parse_order_ack,
    parse_order_book,
    parse_positions,
    parse_quote,
    parse_trades,
)

INT64_MAX = 2**63 - 1
CALL_BOUND_S = 1.0  # every parse returns within this, even on a shared CI machine
Kind = Literal["price", "amount", "signed_amount", "count", "signed_count", "text"]

# Where the parser is allowed (not required) to refuse although the value is exact: policy
# bounds of the reader, not facts of the value (see parsing_values).
MAX_TEXT_LEN = 64
MAX_DIGITS = 40
MAX_PLACES = 40
MAX_DEPTH = 32  # a body nested deeper than this may be refused as a whole ("body")


def _nest(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


def _obj_nest(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


CLASSES: dict[str, list[str]] = {
    "huge_exponent": [
        '"1e999999999"',
        "1e999999999",
        '"1e999999"',
        "1e999999",
        '"-1e999999"',
        '"1E+400000000"',
        '"9.3e18"',
        "92233720368547758.08",
        '"1e19"',
        "1" + "0" * 30,
        '"1e99999999999999999999"',
        "1e99999999999999999999",
        '"1e17"',
        '"9e16"',
        "9" * 1000,
        '"1.5e3"',
    ],
    "tiny_exponent": [
        '"1e-999999999"',
        "1e-999999999",
        '"1e-999999"',
        '"0.001"',
        "0.005",
        '"-1e-50"',
        '"1e-7"',
        "1E-400000000",
        '"5e-3"',
        '"1e-2"',
        "0.05",
    ],
    "non_finite": [
        "NaN",
        "Infinity",
        "-Infinity",
        '"NaN"',
        '"nan"',
        '"sNaN"',
        '"-sNaN"',
        '"Infinity"',
        '"-inf"',
        '"sNaN123"',
        '"Inf"',
    ],
    "many_digits": [
        '"1.000000000000000000000000000001"',
        '"0.004999999999999999999999999999999"',
        '"0.005000000000000000000000000000001"',
        "1.0000000000000000000000000000000000001",
        '"12345678901234567.895"',
        '"' + "9" * 100 + '"',
        '"0.' + "0" * 100 + '1"',
        '"1' + "0" * 5000 + '"',
        "1" * 4301,
        "0." + "1" * 100_000,
        '"1.00000000000000000000000000000000000000000000000000"',
        '"2062.4333333333"',
    ],
    "unicode_digits": [
        '"\u0661\u0662\u0663"',
        '"\uff11\uff12\uff13"',
        '"\u0967\u0968\u0969.\u096b\u0966"',
        '"1_000"',
        '"\uff11e5"',
        '"\u00bd"',
        '"\u00b2"',
        '"\u0663e999999999"',
        '"\\u00a05"',
        '"5\\u2009"',
        '"\u0661"',
    ],
    "wrong_type": ["true", "false", "null", "[]", "{}", "[1]", '{"a":1}', '["1"]', "[true]"],
    "nested": [
        _nest(4),
        _nest(40),
        _nest(10_000),
        _nest(100_000),
        _obj_nest(10_000),
        _nest(100_000, '"1e999999999"'),
    ],
    "long_string": [
        '"' + "1" * 100_000 + '"',
        '"' + "x" * 1_000_000 + '"',
        '"' + " " * 100_000 + '"',
        '"1' + " " * 100_000 + '"',
        '"' + "," * 1000 + '"',
    ],
    "negative_zero": [
        '"-0"',
        "-0",
        "-0.0",
        '"-0.00"',
        '"-0e999999999"',
        "-0E-999999999",
        '"0e-999999999"',
        '"+0"',
        "0E+999999999",
    ],
    "negative": ['"-1"', "-1", '"-0.05"', "-495.05", '"- 2235.80"', "-9223372036854775808"],
    "syntax": [
        '""',
        '" "',
        '"1.2.3"',
        '"1e"',
        '"e5"',
        '"--1"',
        '"+-1"',
        '"0x10"',
        '"1,,0"',
        '"."',
        '"1e+"',
        '"0b1"',
        '"12abc"',
        '"1 2"',
    ],
}


@dataclass(frozen=True)
class Target:
    """One numeric (or text) field of one route, with a valid body around it."""

    name: str
    route: str
    kind: Kind
    leaf: str  # the last part of the field name a refusal must carry
    body: Callable[[str], str]  # the JSON body with the literal in the field
    read: Callable[[str, object], object]  # parsed data -> the field's value
    optional: bool = False  # null means "not sent" (0), as the DOCS allow for this field


def _envelope(data: object) -> str:
    return json.dumps({"status": True, "message": "SUCCESS", "errorcode": "", "data": data})


def _in(data: object, literal: str) -> str:
    return _envelope(data).replace('"@@"', literal, 1)


def _order(field: str) -> dict[str, object]:
    row: dict[str, object] = {
        "variety": "NORMAL", "ordertype": "LIMIT", "producttype": "INTRADAY",
        "duration": "DAY", "price": 195.5, "triggerprice": 0, "quantity": "1",
        "tradingsymbol": "SBIN-EQ", "transactiontype": "BUY", "exchange": "NSE",
        "symboltoken": "3045", "ordertag": "t1", "averageprice": 0, "filledshares": "0",
        "orderid": "250913000000001", "status": "open", "text": "", "uniqueorderid": "u",
    }  # fmt: skip
    row[field] = "@@"
    return row


def _targets() -> Iterator[Target]:
    ob = "/rest/secure/angelbroking/order/v1/getOrderBook"
    for f, kind in (("quantity", "count"), ("filledshares", "count"), ("price", "price"),
                    ("triggerprice", "price"), ("averageprice", "amount")):  # fmt: skip

        def read_order(route: str, data: object, f: str = f) -> object:
            row = parse_order_book(route, data)[0]
            return {"quantity": row.quantity, "filledshares": row.filled_quantity,
                    "price": row.price_paise, "triggerprice": row.trigger_price_paise,
                    "averageprice": row.average_price_paise}[f]  # fmt: skip

        yield Target(f"order.{f}", ob, kind, f, lambda v, f=f: _in([_order(f)], v), read_order)
    ack = "/rest/secure/angelbroking/order/v1/placeOrder"
    yield Target(
        "ack.orderid", ack, "text", "orderid",
        lambda v: _in({"orderid": "@@", "uniqueorderid": "u"}, v),
        lambda r, d: parse_order_ack(r, d).order_id,
    )  # fmt: skip
    tb = "/rest/secure/angelbroking/order/v1/getTradeBook"
    trade = {"orderid": "1", "fillid": "2", "tradingsymbol": "X", "exchange": "NSE",
             "transactiontype": "BUY", "fillprice": 10, "fillsize": "1"}  # fmt: skip
    for f, kind in (("fillprice", "price"), ("fillsize", "count")):
        attr = {"fillprice": "fill_price_paise", "fillsize": "fill_quantity"}[f]
        yield Target(
            f"trade.{f}", tb, kind, f, lambda v, f=f: _in([{**trade, f: "@@"}], v),
            lambda r, d, a=attr: getattr(parse_trades(r, d)[0], a),
        )  # fmt: skip
    pos = "/rest/secure/angelbroking/order/v1/getPosition"
    position = {"tradingsymbol": "X", "symboltoken": "1", "exchange": "NSE",
                "producttype": "INTRADAY", "netqty": "0", "buyqty": "0", "sellqty": "0",
                "buyavgprice": "0", "sellavgprice": "0", "ltp": "1", "pnl": "0"}  # fmt: skip
    for f, kind, attr in (
        ("netqty", "signed_count", "net_quantity"), ("buyqty", "count", "buy_quantity"),
        ("sellqty", "count", "sell_quantity"), ("buyavgprice", "amount", "buy_avg_paise"),
        ("sellavgprice", "amount", "sell_avg_paise"), ("ltp", "amount", "ltp_paise"),
        ("pnl", "signed_amount", "pnl_paise"),
    ):  # fmt: skip
        yield Target(
            f"position.{f}", pos, kind, f, lambda v, f=f: _in([{**position, f: "@@"}], v),
            lambda r, d, a=attr: getattr(parse_positions(r, d)[0], a),
        )  # fmt: skip
    hold = "/rest/secure/angelbroking/portfolio/v1/getHolding"
    holding = {"tradingsymbol": "X", "symboltoken": "1", "exchange": "NSE", "quantity": 1,
               "t1quantity": 0, "averageprice": 1, "ltp": 1, "close": 1,
               "profitandloss": 0}  # fmt: skip
    for f, kind, attr in (
        ("quantity", "count", "quantity"), ("t1quantity", "count", "t1_quantity"),
        ("averageprice", "amount", "average_price_paise"), ("ltp", "amount", "ltp_paise"),
        ("close", "amount", "close_paise"), ("profitandloss", "signed_amount", "pnl_paise"),
    ):  # fmt: skip
        yield Target(
            f"holding.{f}", hold, kind, f, lambda v, f=f: _in([{**holding, f: "@@"}], v),
            lambda r, d, a=attr: getattr(parse_holdings(r, d)[0], a),
        )  # fmt: skip
    rms = "/rest/secure/angelbroking/user/v1/getRMS"
    funds = {"net": "1", "availablecash": "1", "m2mrealized": "0", "m2munrealized": "0"}
    for f, attr in (("net", "net_paise"), ("availablecash", "available_cash_paise"),
                    ("m2munrealized", "m2m_unrealized_paise")):  # fmt: skip
        yield Target(
            f"funds.{f}", rms, "signed_amount", f, lambda v, f=f: _in({**funds, f: "@@"}, v),
            lambda r, d, a=attr: getattr(parse_funds(r, d), a), optional=f == "m2munrealized",
        )  # fmt: skip
    ltp = "/rest/secure/angelbroking/order/v1/getLtpData"
    quote = {"exchange": "NSE", "tradingsymbol": "X", "symboltoken": "1", "ltp": 1,
             "open": 1, "high": 1, "low": 1, "close": 1}  # fmt: skip
    for f in ("ltp", "open", "close"):
        yield Target(
            f"ltp.{f}", ltp, "price", f, lambda v, f=f: _in({**quote, f: "@@"}, v),
            lambda r, d, a=f"{f}_paise": getattr(parse_ltp(r, d), a),
        )  # fmt: skip
    mq = "/rest/secure/angelbroking/market/v1/quote"
    fetched = {
        "exchange": "NSE",
        "tradingSymbol": "X",
        "symbolToken": "1",
        "ltp": 1,
        "tradeVolume": 1,
        "52WeekLow": 1,
        "depth": {"buy": [{"price": 1, "quantity": 1, "orders": 1}], "sell": []},
    }
    for f, kind, attr in (("ltp", "price", "ltp_paise"), ("tradeVolume", "count", "volume"),
                          ("52WeekLow", "price", "week52_low_paise")):  # fmt: skip
        yield Target(
            f"quote.{f}", mq, kind, f,
            lambda v, f=f: _in({"fetched": [{**fetched, f: "@@"}], "unfetched": []}, v),
            lambda r, d, a=attr: getattr(parse_quote(r, d).fetched[0], a), optional=f != "ltp",
        )  # fmt: skip
    for f, kind, attr in (("price", "price", "price_paise"), ("quantity", "count", "quantity"),
                          ("orders", "count", "orders")):  # fmt: skip
        level = {"price": 1, "quantity": 1, "orders": 1, f: "@@"}
        yield Target(
            f"quote.depth.{f}", mq, kind, f,
            lambda v, lv=level: _in(
                {"fetched": [{**fetched, "depth": {"buy": [lv], "sell": []}}]}, v
            ),
            lambda r, d, a=attr: getattr(parse_quote(r, d).fetched[0].depth_buy[0], a),
        )  # fmt: skip
    cd = "/rest/secure/angelbroking/historical/v1/getCandleData"
    stamp = "2025-09-12T09:15:00+05:30"
    yield Target(
        "candle.ohlc", cd, "price", "open",
        lambda v: _in([[stamp, "@@", "@@", "@@", "@@", 1]], v).replace('"@@"', v),
        lambda r, d: parse_candles(r, d)[0][1],
    )  # fmt: skip
    yield Target(
        "candle.volume", cd, "count", "volume", lambda v: _in([[stamp, 1, 1, 1, 1, "@@"]], v),
        lambda r, d: parse_candles(r, d)[0][5],
    )  # fmt: skip


TARGETS = list(_targets())

# ---- the oracle ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """`value` is what must come out; `refuse` means it must be refused; `either` allows both."""

    value: object = None
    refuse: bool = False
    either: bool = False


REFUSE = Expect(refuse=True)
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_SCALE = {"price": 2, "amount": 2, "signed_amount": 2, "count": 0, "signed_count": 0}


def _wire_value(literal: str) -> tuple[str, object]:
    """('str', text) | ('num', text of the JSON number) | ('other', python value)."""
    if literal.startswith('"'):
        return "str", json.loads(literal)
    if re.fullmatch(r"-?\d+(\.\d+)?([eE][+-]?\d+)?", literal):
        return "num", literal
    try:
        return "other", json.loads(literal)
    except (ValueError, RecursionError):
        return "other", None


def expect(literal: str, kind: Kind) -> Expect:
    """What a correct reader makes of `literal` in a field of `kind` (see module docstring)."""
    shape, v = _wire_value(literal)
    if kind == "text":
        if shape == "str":
            return Expect(value=v, either=not v)  # an empty id may be refused
        return Expect(either=True) if shape == "num" else REFUSE
    if shape == "other":
        return REFUSE
    assert isinstance(v, str)
    lenient = False
    if shape == "str":
        lenient = len(v) > MAX_TEXT_LEN
        v = v.replace(" ", "").replace(",", "")
        if not v:
            return Expect(value=0, either=lenient)
    if not _NUMBER.fullmatch(v):
        return REFUSE
    mantissa, _, exponent = v.lower().partition("e")
    if len(exponent.lstrip("+-").lstrip("0")) > 12:  # beyond what Decimal can even hold
        if not mantissa.strip("+-.0"):
            return Expect(value=0, either=lenient)
        if not exponent.startswith("-"):
            return REFUSE
        return REFUSE if kind in ("price", "count", "signed_count") else Expect(0, either=True)
    return _exact(Decimal(v), kind, lenient)


def _exact(d: Decimal, kind: Kind, lenient: bool) -> Expect:
    if d.is_zero():
        return Expect(value=0, either=lenient)
    scale = _SCALE[kind]
    signed = kind.startswith("signed")
    if d < 0 and not signed:
        return REFUSE
    if d.adjusted() + scale >= 19:
        return REFUSE  # beyond int64 paise or units
    digits = len(d.as_tuple().digits)
    exponent = int(d.as_tuple().exponent)
    lenient = lenient or digits > MAX_DIGITS or exponent < -MAX_PLACES
    if d.adjusted() + scale < -1:
        # below a tenth of the unit: not whole, or rounds to zero
        return REFUSE if kind in ("price", "count", "signed_count") else Expect(0, either=True)
    with localcontext(Context(prec=digits + 40, traps=[Inexact, Rounded, InvalidOperation])):
        units = d.scaleb(scale)
        whole = units.to_integral_value()
        if kind in ("price", "count", "signed_count"):
            if units != whole:
                return REFUSE
            n = int(whole)
        else:
            n = int(units.to_integral_value(rounding=ROUND_HALF_UP))
    if abs(n) > INT64_MAX:
        return REFUSE
    return Expect(value=n, either=lenient)


# ---- running the table, bounded -----------------------------------------------------------

Outcome = tuple[Any, ...]  # ("value", v) | ("typed", type, route, field) | ("untyped", type)


@dataclass(frozen=True)
class Case:
    cls: str
    literal: str
    target: Target

    def __str__(self) -> str:
        shown = self.literal if len(self.literal) <= 40 else self.literal[:37] + "..."
        return f"{self.cls}: {shown} in {self.target.name}"


# A literal this long costs milliseconds per parse; it meets one field of each kind only.
HEAVY = 10_000
_ONE_PER_KIND = [t for i, t in enumerate(TARGETS) if t.kind not in {u.kind for u in TARGETS[:i]}]


def cases() -> list[Case]:
    return [
        Case(c, lit, t)
        for c, lits in CLASSES.items()
        for lit in lits
        for t in (_ONE_PER_KIND if len(lit) > HEAVY else TARGETS)
    ]


def run_case(case: Case) -> Outcome:
    t = case.target
    try:
        data = parse_envelope(t.route, 200, t.body(case.literal).encode())
        return ("value", t.read(t.route, data))
    except MalformedResponseError as e:
        return ("typed", type(e).__name__, e.route, e.field)
    except AngelOneError as e:
        return ("typed", type(e).__name__, e.route, "")
    except Exception as e:  # the point is to see what escapes
        return ("untyped", type(e).__name__)


def handled(case: Case, outcome: Outcome, elapsed_s: float) -> bool:
    """True when the outcome is what the oracle allows and it came within the bound."""
    if outcome[0] == "hang" or elapsed_s > CALL_BOUND_S:
        return False
    want = expect(case.literal, case.target.kind)
    if case.target.optional and case.literal == "null":
        want = Expect(value=0)
    if outcome[0] == "typed":
        names_field = outcome[1] == "MalformedResponseError" and outcome[2] == case.target.route
        refused_ok = (want.refuse or want.either) and names_field
        field = str(outcome[3])
        if field == "body" and _depth(case.literal) > MAX_DEPTH:
            return refused_ok
        return refused_ok and field.endswith(case.target.leaf)
    if outcome[0] == "value":
        if want.refuse:
            return False
        if case.target.kind == "text" and want.value is None:
            return isinstance(outcome[1], str) and outcome[1].isascii()
        return bool(outcome[1] == want.value and type(outcome[1]) is type(want.value))
    return False


def _depth(literal: str) -> int:
    depth = deepest = 0
    for ch in literal:
        depth += (ch in "[{") - (ch in "]}")
        deepest = max(deepest, depth)
    return deepest


def _child(start: int, conn: Any) -> None:
    todo = cases()
    conn.send("ready")
    for i, case in enumerate(todo[start:], start):
        begin = time.perf_counter()
        outcome = run_case(case)
        conn.send((i, outcome, time.perf_counter() - begin))
    conn.close()


_START_S = 60.0  # a spawned child imports the parsers first; generous for a busy machine


def run_bounded(kill_after_s: float = 10.0) -> list[tuple[Outcome, float]]:
    """Every case's outcome and time, run in a child process; a case that does not return
    within `kill_after_s` is recorded as ("hang",) and the rest go on in a new child.

    Spawned, not forked: the child rebuilds `cases()` itself (lambdas do not pickle), and a
    spawn is safe whatever threads the test process runs.
    """
    ctx = multiprocessing.get_context("spawn")
    todo = cases()
    results: list[tuple[Outcome, float]] = []
    while len(results) < len(todo):
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(len(results), child), daemon=True)
        proc.start()
        child.close()
        if not parent.poll(_START_S) or parent.recv() != "ready":
            raise RuntimeError(f"the case runner did not start within {_START_S} s")
        for _ in todo[len(results) :]:
            if not parent.poll(kill_after_s):
                results.append((("hang",), kill_after_s))
                break
            try:
                _, outcome, elapsed = parent.recv()
            except EOFError:  # the child died (a crash is as bad as a hang)
                results.append((("crash",), 0.0))
                break
            results.append((outcome, elapsed))
        proc.kill()
        proc.join()
        parent.close()
    return results


def tally(todo: list[Case], results: list[tuple[Outcome, float]]) -> dict[str, list[int]]:
    """Per class: [cases tried, cases handled, hangs, untyped errors]."""
    out: dict[str, list[int]] = {}
    for case, (outcome, elapsed) in zip(todo, results, strict=True):
        row = out.setdefault(case.cls, [0, 0, 0, 0])
        row[0] += 1
        row[1] += handled(case, outcome, elapsed)
        row[2] += outcome[0] == "hang"
        row[3] += outcome[0] == "untyped"
    return out


if __name__ == "__main__":  # the before/after figures of issue #15: python -m tests.unit...
    import pickle
    import sys
    from pathlib import Path

    todo = cases()
    saved = Path(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] != "-v" else None
    if saved and saved.exists():
        results = pickle.loads(saved.read_bytes())  # noqa: S301 - our own file
    else:
        results = run_bounded(kill_after_s=float(sys.argv[1]) if len(sys.argv) > 1 else 2.0)
        if saved:
            saved.write_bytes(pickle.dumps(results))
    for cls, (tried, ok, hangs, untyped) in tally(todo, results).items():
        print(f"{cls:15} tried {tried:5}  handled {ok:5}  hangs {hangs:4}  untyped {untyped:4}")  # noqa: T201
    if "-v" in sys.argv:
        for case, (outcome, elapsed) in zip(todo, results, strict=True):
            if not handled(case, outcome, elapsed):
                shown = outcome[:4] if outcome[0] != "value" else f"{outcome[1]!r:.40}"
                print(case, shown)  # noqa: T201
