"""The shared fill model (matching/fill_model.py): one test per rule of its docstring, and
properties that hold for any order against any bars."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from algo_trading.domain import ClientOrderId, OrderSide, OrderType, Validity
from algo_trading.matching import BarMatcher, Match, MatchKind, RestingOrder
from tests.support.builders import SYMBOL, ist_ns

BUY, SELL = OrderSide.BUY, OrderSide.SELL
MON, TUE = "2024-01-01", "2024-01-02"


def resting(
    coid: str = "A",
    side: OrderSide = BUY,
    order_type: OrderType = OrderType.MARKET,
    quantity: int = 10,
    *,
    limit: int | None = None,
    trigger: int | None = None,
    validity: Validity = Validity.DAY,
    tick: int = 5,
    symbol: str = SYMBOL,
) -> RestingOrder:
    return RestingOrder(
        ClientOrderId(coid), symbol, side, order_type, quantity, limit, trigger, tick, validity
    )


def matcher(*orders: RestingOrder, slippage_ticks: int = 0, pct: int | None = None) -> BarMatcher:
    m = BarMatcher(slippage_ticks, pct)
    for order in orders:
        m.add(order)
    return m


def bar(
    m: BarMatcher,
    open_: int,
    high: int,
    low: int,
    *,
    at: str = "09:15",
    day: str = MON,
    volume: int = 1_000,
) -> list[Match]:
    assert low <= open_ <= high
    return m.on_bar(SYMBOL, ist_ns(day, at), open_, high, low, volume)


def fills(matches: list[Match]) -> list[tuple[str, int, int]]:
    return [
        (m.client_order_id, m.quantity, m.price_paise) for m in matches if m.kind is MatchKind.FILL
    ]


def kinds(matches: list[Match]) -> list[tuple[MatchKind, str]]:
    return [(m.kind, m.client_order_id) for m in matches]


# --- market -----------------------------------------------------------------------------


def test_a_market_order_fills_whole_at_the_next_bars_open() -> None:
    m = matcher(resting("A", BUY))
    assert fills(bar(m, 10_000, 10_100, 9_900)) == [("A", 10, 10_000)]
    assert len(m) == 0


@pytest.mark.parametrize(("side", "price"), [(BUY, 10_010), (SELL, 9_990)])
def test_market_slippage_is_whole_ticks_against_the_order(side: OrderSide, price: int) -> None:
    m = matcher(resting("A", side), slippage_ticks=2)
    assert fills(bar(m, 10_000, 10_100, 9_900)) == [("A", 10, price)]


def test_a_slipped_market_sell_never_fills_below_one_tick() -> None:
    m = matcher(resting("A", SELL), slippage_ticks=3)
    assert fills(bar(m, 10, 15, 5)) == [("A", 10, 5)]


# --- limit ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "limit", "ohl", "price"),
    [
        (BUY, 9_950, (10_000, 10_100, 9_900), 9_950),  # touched inside the bar: at the limit
        (BUY, 10_050, (10_000, 10_100, 9_900), 10_000),  # open below the limit: at the open
        (SELL, 10_050, (10_000, 10_100, 9_900), 10_050),
        (SELL, 9_950, (10_000, 10_100, 9_900), 10_000),
        (BUY, 9_900, (10_000, 10_100, 9_900), 9_900),  # the low only touches: enough
        (SELL, 10_100, (10_000, 10_100, 9_900), 10_100),
    ],
)
def test_a_limit_fills_at_its_price_when_touched_or_at_the_open_when_it_gaps_through(
    side: OrderSide, limit: int, ohl: tuple[int, int, int], price: int
) -> None:
    m = matcher(resting("A", side, OrderType.LIMIT, limit=limit), slippage_ticks=4)
    assert fills(bar(m, *ohl)) == [("A", 10, price)]


@pytest.mark.parametrize(("side", "limit"), [(BUY, 9_895), (SELL, 10_105)])
def test_a_limit_the_bar_does_not_reach_keeps_resting(side: OrderSide, limit: int) -> None:
    m = matcher(resting("A", side, OrderType.LIMIT, limit=limit))
    assert bar(m, 10_000, 10_100, 9_900) == []
    assert m.get(ClientOrderId("A")) is not None


# --- stop-market ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "trigger", "ohl", "price"),
    [
        (BUY, 10_050, (10_000, 10_100, 9_900), 10_050),  # triggered inside: at the trigger
        (BUY, 9_950, (10_000, 10_100, 9_900), 10_000),  # gapped through at the open
        (SELL, 9_950, (10_000, 10_100, 9_900), 9_950),
        (SELL, 10_050, (10_000, 10_100, 9_900), 10_000),
    ],
)
def test_a_stop_market_triggers_and_fills_in_the_same_bar(
    side: OrderSide, trigger: int, ohl: tuple[int, int, int], price: int
) -> None:
    m = matcher(resting("A", side, OrderType.STOPLOSS_MARKET, trigger=trigger))
    matches = bar(m, *ohl)
    assert kinds(matches) == [(MatchKind.TRIGGER, "A"), (MatchKind.FILL, "A")]
    assert fills(matches) == [("A", 10, price)]


@pytest.mark.parametrize(("side", "price"), [(BUY, 10_060), (SELL, 9_940)])
def test_a_stop_market_slips_like_a_market_order(side: OrderSide, price: int) -> None:
    trigger = 10_050 if side is BUY else 9_950
    m = matcher(resting("A", side, OrderType.STOPLOSS_MARKET, trigger=trigger), slippage_ticks=2)
    assert fills(bar(m, 10_000, 10_100, 9_900)) == [("A", 10, price)]


@pytest.mark.parametrize(("side", "trigger"), [(BUY, 10_105), (SELL, 9_895)])
def test_a_stop_the_bar_does_not_reach_neither_triggers_nor_fills(
    side: OrderSide, trigger: int
) -> None:
    m = matcher(resting("A", side, OrderType.STOPLOSS_MARKET, trigger=trigger))
    assert bar(m, 10_000, 10_100, 9_900) == []
    order = m.get(ClientOrderId("A"))
    assert order is not None
    assert not order.triggered


# --- stop-limit -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "trigger", "limit", "ohl", "price"),
    [
        # Triggered at the open, then a limit for the rest of the bar.
        (BUY, 10_000, 10_050, (10_020, 10_100, 10_000), 10_020),
        (BUY, 10_000, 10_010, (10_050, 10_100, 10_005), 10_010),
        (SELL, 10_000, 9_950, (9_980, 10_000, 9_900), 9_980),
        (SELL, 10_000, 9_990, (9_950, 9_995, 9_900), 9_990),
        # Triggered inside the bar with the trigger within the limit: at the trigger.
        (BUY, 10_050, 10_060, (10_000, 10_100, 9_900), 10_050),
        (BUY, 10_050, 10_050, (10_000, 10_100, 9_900), 10_050),
        (SELL, 9_950, 9_940, (10_000, 10_100, 9_900), 9_950),
    ],
)
def test_a_stop_limit_fills_within_its_limit_once_triggered(
    side: OrderSide, trigger: int, limit: int, ohl: tuple[int, int, int], price: int
) -> None:
    m = matcher(
        resting("A", side, OrderType.STOPLOSS_LIMIT, trigger=trigger, limit=limit),
        slippage_ticks=3,
    )
    matches = bar(m, *ohl)
    assert kinds(matches) == [(MatchKind.TRIGGER, "A"), (MatchKind.FILL, "A")]
    assert fills(matches) == [("A", 10, price)]


def test_a_stop_limit_triggered_at_the_open_above_its_limit_rests_as_a_limit() -> None:
    m = matcher(resting("A", BUY, OrderType.STOPLOSS_LIMIT, trigger=10_000, limit=10_010))
    assert kinds(bar(m, 10_050, 10_100, 10_020)) == [(MatchKind.TRIGGER, "A")]
    assert fills(bar(m, 10_030, 10_040, 10_000, at="09:16")) == [("A", 10, 10_010)]


@pytest.mark.parametrize(
    ("side", "trigger", "limit", "next_ohl", "price"),
    [
        (BUY, 10_050, 10_040, (10_030, 10_060, 10_020), 10_030),
        (SELL, 9_950, 9_960, (9_970, 9_990, 9_940), 9_970),
    ],
)
def test_a_stop_limit_triggered_inside_beyond_its_limit_waits_for_the_next_bar(
    side: OrderSide, trigger: int, limit: int, next_ohl: tuple[int, int, int], price: int
) -> None:
    # The bar's path after the trigger is unknown, so no fill is assumed in it.
    m = matcher(resting("A", side, OrderType.STOPLOSS_LIMIT, trigger=trigger, limit=limit))
    assert kinds(bar(m, 10_000, 10_100, 9_900)) == [(MatchKind.TRIGGER, "A")]
    order = m.get(ClientOrderId("A"))
    assert order is not None
    assert order.triggered
    matches = bar(m, *next_ohl, at="09:16")
    assert kinds(matches) == [(MatchKind.FILL, "A")]  # no second trigger
    assert fills(matches) == [("A", 10, price)]


# --- validity ---------------------------------------------------------------------------


def test_a_day_order_lives_through_its_day_and_expires_at_the_first_bar_of_the_next() -> None:
    m = matcher(resting("A", BUY, OrderType.LIMIT, limit=9_000))
    assert bar(m, 10_000, 10_100, 9_900, at="09:15") == []
    assert bar(m, 10_000, 10_100, 9_900, at="15:29") == []
    # The limit would fill on this bar; the order is gone first.
    assert kinds(bar(m, 9_000, 9_100, 8_900, day=TUE)) == [(MatchKind.EXPIRE, "A")]
    assert len(m) == 0


def test_an_order_placed_after_the_last_bar_of_a_day_fills_at_the_next_days_open() -> None:
    m = matcher()
    assert bar(m, 10_000, 10_100, 9_900, at="15:29") == []
    m.add(resting("A", BUY))
    assert fills(bar(m, 10_200, 10_300, 10_100, day=TUE)) == [("A", 10, 10_200)]


def test_an_ioc_order_that_finds_nothing_expires_after_one_bar() -> None:
    m = matcher(resting("A", BUY, OrderType.LIMIT, limit=9_800, validity=Validity.IOC))
    assert kinds(bar(m, 10_000, 10_100, 9_900)) == [(MatchKind.EXPIRE, "A")]
    assert len(m) == 0


def test_an_ioc_order_keeps_its_partial_fill_and_expires_the_rest() -> None:
    m = matcher(resting("A", BUY, quantity=100, validity=Validity.IOC), pct=10)
    matches = bar(m, 10_000, 10_100, 9_900, volume=500)
    assert kinds(matches) == [(MatchKind.FILL, "A"), (MatchKind.EXPIRE, "A")]
    assert fills(matches) == [("A", 50, 10_000)]
    assert len(m) == 0


# --- volume and priority ----------------------------------------------------------------


def test_a_volume_cap_spreads_a_large_order_over_several_bars() -> None:
    m = matcher(resting("A", BUY, quantity=100), pct=10)
    got = [
        fills(bar(m, 10_000 + i * 5, 10_100, 9_900, at=f"09:{15 + i}", volume=400))
        for i in range(3)
    ]
    assert got == [[("A", 40, 10_000)], [("A", 40, 10_005)], [("A", 20, 10_010)]]
    assert len(m) == 0


def test_a_stop_market_the_volume_cap_left_unfilled_goes_on_as_a_market_order() -> None:
    # Regression: the next bar treated it as a limit without a price and raised TypeError.
    m = matcher(resting("A", SELL, OrderType.STOPLOSS_MARKET, 100, trigger=9_950), pct=10)
    matches = bar(m, 10_000, 10_100, 9_900, volume=300)
    assert kinds(matches) == [(MatchKind.TRIGGER, "A"), (MatchKind.FILL, "A")]
    assert fills(matches) == [("A", 30, 9_950)]
    later = bar(m, 10_020, 10_100, 9_990, at="09:16", volume=1_000)
    assert kinds(later) == [(MatchKind.FILL, "A")]
    assert fills(later) == [("A", 70, 10_020)]


def test_a_bar_too_thin_for_one_unit_fills_nothing_and_the_order_waits() -> None:
    m = matcher(resting("A", BUY), pct=10)
    assert bar(m, 10_000, 10_100, 9_900, volume=9) == []
    assert fills(bar(m, 10_000, 10_100, 9_900, at="09:16", volume=1_000)) == [("A", 10, 10_000)]


def test_the_oldest_order_is_served_first_from_a_shared_volume_cap() -> None:
    m = matcher(resting("A", BUY, quantity=50), resting("B", SELL, quantity=50), pct=10)
    assert fills(bar(m, 10_000, 10_100, 9_900, volume=600)) == [
        ("A", 50, 10_000),
        ("B", 10, 10_000),
    ]
    assert fills(bar(m, 10_000, 10_100, 9_900, at="09:16", volume=600)) == [("B", 40, 10_000)]


def test_a_bar_matches_only_its_own_symbols_orders() -> None:
    m = matcher(resting("A", BUY, symbol="INFY-EQ"))
    assert bar(m, 10_000, 10_100, 9_900) == []
    assert m.has_orders("INFY-EQ")
    assert not m.has_orders(SYMBOL)


def test_a_removed_order_is_not_matched() -> None:
    m = matcher(resting("A", BUY), resting("B", BUY))
    removed = m.remove(ClientOrderId("A"))
    assert removed is not None
    assert removed.client_order_id == "A"
    assert m.remove(ClientOrderId("A")) is None
    assert fills(bar(m, 10_000, 10_100, 9_900)) == [("B", 10, 10_000)]


@pytest.mark.parametrize(("slippage", "pct"), [(-1, None), (0, 0), (0, 101)])
def test_a_matcher_with_negative_slippage_or_a_cap_outside_1_to_100_is_refused(
    slippage: int, pct: int | None
) -> None:
    with pytest.raises(ValueError, match="must be"):
        BarMatcher(slippage, pct)


# --- ticks ------------------------------------------------------------------------------


def test_on_a_tick_the_last_price_stands_for_open_high_and_low() -> None:
    m = matcher(
        resting("L", BUY, OrderType.LIMIT, limit=9_950),
        resting("S", SELL, OrderType.STOPLOSS_MARKET, trigger=9_960),
        resting("M", BUY),
    )
    ts = ist_ns(MON, "09:15")
    assert fills(m.on_tick(SYMBOL, ts, 9_970)) == [("M", 10, 9_970)]
    assert fills(m.on_tick(SYMBOL, ts + 1, 9_955)) == [("S", 10, 9_955)]  # gapped through
    assert fills(m.on_tick(SYMBOL, ts + 2, 9_950)) == [("L", 10, 9_950)]
    assert len(m) == 0


# --- properties -------------------------------------------------------------------------

PRICE = st.integers(20, 400).map(lambda ticks: ticks * 5)


@st.composite
def bars(draw: st.DrawFn) -> tuple[int, int, int]:
    """(open, high, low) of a consistent bar on the tick."""
    a, b, c = sorted(draw(st.lists(PRICE, min_size=3, max_size=3)))
    return b, c, a


@st.composite
def orders(draw: st.DrawFn) -> RestingOrder:
    order_type = draw(st.sampled_from(OrderType))
    limit = draw(PRICE) if order_type in (OrderType.LIMIT, OrderType.STOPLOSS_LIMIT) else None
    stop = order_type in (OrderType.STOPLOSS_LIMIT, OrderType.STOPLOSS_MARKET)
    return resting(
        "A",
        draw(st.sampled_from(OrderSide)),
        order_type,
        draw(st.integers(1, 300)),
        limit=limit,
        trigger=draw(PRICE) if stop else None,
        validity=draw(st.sampled_from(Validity)),
    )


@settings(max_examples=400, deadline=None)
@given(
    order=orders(),
    ohls=st.lists(bars(), min_size=1, max_size=5),
    days=st.lists(st.integers(0, 1), min_size=5, max_size=5),
    slippage=st.integers(0, 3),
    pct=st.one_of(st.none(), st.integers(1, 100)),
    volume=st.integers(0, 2_000),
)
def test_no_fill_is_beyond_its_limit_or_its_bar_and_quantities_are_conserved(
    order: RestingOrder,
    ohls: list[tuple[int, int, int]],
    days: list[int],
    slippage: int,
    pct: int | None,
    volume: int,
) -> None:
    m = matcher(order, slippage_ticks=slippage, pct=pct)
    quantity, limit, trigger = order.remaining, order.limit_paise, order.trigger_paise
    slip = slippage * order.tick_paise
    filled = 0
    ended = False
    for i, (open_, high, low) in enumerate(ohls):
        day = TUE if any(days[: i + 1]) else MON
        matches = m.on_bar(SYMBOL, ist_ns(day, "09:15") + i * 60 * 10**9, open_, high, low, volume)
        if ended:
            assert matches == [], "an order that ended was matched again"
            continue
        if day == TUE and not days[0]:
            assert kinds(matches) == [(MatchKind.EXPIRE, "A")], "a DAY order outlived its day"
        for match in matches:
            if match.kind is MatchKind.EXPIRE:
                ended = True
            if match.kind is not MatchKind.FILL:
                continue
            price = match.price_paise
            filled += match.quantity
            if limit is not None:  # limits get no slippage
                assert low <= price <= high
                assert price <= limit if order.is_buy else price >= limit
            else:
                assert low - slip <= price <= high + slip
                assert price >= order.tick_paise
            if order.order_type is OrderType.STOPLOSS_MARKET and kinds(matches)[0][0] is (
                MatchKind.TRIGGER
            ):
                assert trigger is not None
                assert price >= trigger if order.is_buy else price <= trigger
        if pct is not None:
            assert sum(x.quantity for x in matches) <= volume * pct // 100
        assert filled <= quantity
        ended = ended or order.is_ioc or filled == quantity
        assert (m.get(order.client_order_id) is None) == ended
        assert order.remaining == quantity - filled
