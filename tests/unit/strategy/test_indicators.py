"""The indicators against straightforward references in exact fractions: equal where they
are exact (SMA, VWAP, Bollinger's band tests, CrossOver), within the documented fixed-point
rounding where they divide (EMA, RSI, ATR, Supertrend)."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import Bar
from algo_trading.strategy.indicators import (
    ATR,
    EMA,
    RSI,
    SCALE,
    SMA,
    VWAP,
    Bollinger,
    CrossOver,
    SmaCrossOver,
    Supertrend,
    compare,
)

MINUTE_NS = 60 * 10**9
HOUR_NS = 60 * MINUTE_NS
# 2025-01-02 09:15 IST
SESSION_OPEN_NS = 1_735_789_500 * 10**9

prices = st.integers(min_value=1, max_value=10_000_000)
closes = st.lists(prices, min_size=1, max_size=120)
periods = st.integers(min_value=1, max_value=30)


def bar(
    close: int,
    high: int | None = None,
    low: int | None = None,
    *,
    ts_ns: int = SESSION_OPEN_NS,
    volume: int = 100,
) -> Bar:
    return Bar("SBIN", ts_ns, close, high or close, low or close, close, volume)


def random_bars(seed: int, n: int) -> list[Bar]:
    """A random walk in paise with wicks, one bar a minute."""
    rng = random.Random(seed)
    out, close = [], 100_000
    for i in range(n):
        close = max(100, close + rng.randint(-300, 300))
        high = close + rng.randint(0, 200)
        low = max(1, close - rng.randint(0, 200))
        vol = rng.randint(0, 5_000)
        out.append(Bar("SBIN", SESSION_OPEN_NS + i * MINUTE_NS, close, high, low, close, vol))
    return out


def half_up(x: Fraction) -> int:
    """The module's documented rounding: to the nearest integer, halves upwards."""
    return math.floor(x + Fraction(1, 2))


def as_fraction(num: int, den: int) -> Fraction:
    return Fraction(num, den)


# --- SMA --------------------------------------------------------------------------------------


@given(closes, periods)
def test_sma_is_the_exact_mean_of_the_last_period_closes(xs: list[int], period: int) -> None:
    sma = SMA(period)
    for i, x in enumerate(xs):
        sma.on_bar(bar(x))
        assert sma.ready == (i + 1 >= period)
        if sma.ready:
            assert as_fraction(sma.num, sma.den) == Fraction(
                sum(xs[i + 1 - period : i + 1]), period
            )


@given(closes, periods)
def test_sma_update_and_on_bar_agree(xs: list[int], period: int) -> None:
    by_bar, by_value = SMA(period), SMA(period)
    for x in xs:
        by_bar.on_bar(bar(x))
        by_value.update(x)
        assert (by_bar.ready, by_bar.num, by_bar.den) == (
            by_value.ready,
            by_value.num,
            by_value.den,
        )


def test_sma_reads_the_source_it_is_given() -> None:
    sma = SMA(2, source="high")
    sma.on_bar(bar(100, high=110))
    sma.on_bar(bar(100, high=130))
    assert as_fraction(sma.num, sma.den) == 120


# --- EMA --------------------------------------------------------------------------------------


def ema_reference(xs: Sequence[int], period: int) -> list[Fraction | None]:
    """Textbook EMA, no rounding: the SMA of the first `period`, then alpha = 2 / (period + 1)."""
    alpha = Fraction(2, period + 1)
    out: list[Fraction | None] = []
    value: Fraction | None = None
    for i, x in enumerate(xs):
        if i + 1 == period:
            value = Fraction(sum(xs[:period]), period)
        elif value is not None:
            value += alpha * (x - value)
        out.append(value)
    return out


def ema_fixed_point(xs: Sequence[int], period: int) -> list[int | None]:
    """The same with the documented fixed point: SCALE units per paisa, half up each step."""
    out: list[int | None] = []
    value: int | None = None
    for i, x in enumerate(xs):
        if i + 1 == period:
            value = half_up(Fraction(sum(xs[:period]) * SCALE, period))
        elif value is not None:
            value += half_up(Fraction(2 * (x * SCALE - value), period + 1))
        out.append(value)
    return out


@given(closes, periods)
def test_ema_follows_the_documented_fixed_point_rounding_exactly(
    xs: list[int], period: int
) -> None:
    ema = EMA(period)
    for x, want in zip(xs, ema_fixed_point(xs, period), strict=True):
        ema.on_bar(bar(x))
        assert ema.ready == (want is not None)
        if want is not None:
            assert (ema.num, ema.den) == (want, SCALE)


@given(closes, periods)
def test_ema_stays_within_its_rounding_bound_of_the_exact_ema(xs: list[int], period: int) -> None:
    # each step rounds by at most half a unit and the old error decays by (1 - alpha), so the
    # error never exceeds half a unit / alpha
    bound = Fraction(period + 1, 4) + Fraction(1, 2)
    ema = EMA(period)
    for x, exact in zip(xs, ema_reference(xs, period), strict=True):
        ema.on_bar(bar(x))
        if exact is not None:
            assert abs(ema.num - exact * SCALE) <= bound


# --- RSI --------------------------------------------------------------------------------------


def wilder_fixed_point(xs: Sequence[int], period: int) -> list[int | None]:
    out: list[int | None] = []
    value: int | None = None
    for i, x in enumerate(xs):
        if i + 1 == period:
            value = half_up(Fraction(sum(xs[:period]) * SCALE, period))
        elif value is not None:
            value = half_up(Fraction(value * (period - 1) + x * SCALE, period))
        out.append(value)
    return out


def wilder_exact(xs: Sequence[int], period: int) -> list[Fraction | None]:
    out: list[Fraction | None] = []
    value: Fraction | None = None
    for i, x in enumerate(xs):
        if i + 1 == period:
            value = Fraction(sum(xs[:period]), period)
        elif value is not None:
            value = (value * (period - 1) + x) / period
        out.append(value)
    return out


def rsi_reference(
    xs: Sequence[int],
    period: int,
    wilder: Callable[[Sequence[int], int], Sequence[Fraction | int | None]],
) -> list[Fraction | None]:
    """RSI per close: None until `period` changes are smoothed, 50 when nothing moved."""
    changes = [b - a for a, b in itertools.pairwise(xs)]
    gains = wilder([max(c, 0) for c in changes], period)
    losses = wilder([max(-c, 0) for c in changes], period)
    out: list[Fraction | None] = [None]
    for g, lo in zip(gains, losses, strict=True):
        if g is None or lo is None:
            out.append(None)
        else:
            out.append(Fraction(50) if g + lo == 0 else Fraction(100 * g, g + lo))
    return out


@given(closes, st.integers(min_value=1, max_value=20))
def test_rsi_follows_wilder_smoothing_with_the_documented_rounding(
    xs: list[int], period: int
) -> None:
    rsi = RSI(period)
    for x, want in zip(xs, rsi_reference(xs, period, wilder_fixed_point), strict=True):
        rsi.update(x)
        assert rsi.ready == (want is not None)
        if want is not None:
            assert as_fraction(rsi.num, rsi.den) == want


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rsi_is_within_a_thousandth_of_a_point_of_the_exact_rsi(seed: int) -> None:
    xs = [b.close for b in random_bars(seed, 1_000)]
    rsi = RSI(14)
    for x, exact in zip(xs, rsi_reference(xs, 14, wilder_exact), strict=True):
        rsi.on_bar(bar(x))
        if exact is not None:
            assert abs(as_fraction(rsi.num, rsi.den) - exact) < Fraction(1, 1000)


def test_rsi_of_a_flat_window_reads_fifty_and_extremes_read_0_and_100() -> None:
    flat, rising, falling = RSI(3), RSI(3), RSI(3)
    for i in range(4):
        flat.update(500)
        rising.update(500 + i)
        falling.update(500 - i)
    assert as_fraction(flat.num, flat.den) == 50
    assert as_fraction(rising.num, rising.den) == 100
    assert as_fraction(falling.num, falling.den) == 0
    assert rising.above(99)
    assert not rising.above(100)
    assert falling.below(1)
    assert not falling.below(0)


def test_rsi_needs_period_changes_so_period_plus_one_closes() -> None:
    rsi = RSI(3)
    for x in (100, 101, 102):
        rsi.update(x)
        assert not rsi.ready
    rsi.update(103)
    assert rsi.ready


# --- ATR --------------------------------------------------------------------------------------


def true_ranges(bars: Sequence[Bar]) -> list[int]:
    out, prev_close = [], None
    for b in bars:
        if prev_close is None:
            out.append(b.high - b.low)
        else:
            out.append(max(b.high - b.low, abs(b.high - prev_close), abs(b.low - prev_close)))
        prev_close = b.close
    return out


ohlc = st.tuples(prices, st.integers(0, 5_000), st.integers(0, 5_000)).map(
    lambda t: bar(t[0] + t[2], high=t[0] + t[1] + t[2], low=t[0])
)


@given(st.lists(ohlc, min_size=1, max_size=120), st.integers(min_value=1, max_value=20))
def test_atr_is_wilder_smoothing_of_the_true_range_with_the_documented_rounding(
    bars: list[Bar], period: int
) -> None:
    want = wilder_fixed_point(true_ranges(bars), period)
    atr = ATR(period)
    for b, w in zip(bars, want, strict=True):
        atr.on_bar(b)
        assert atr.ready == (w is not None)
        if w is not None:
            assert (atr.num, atr.den) == (w, SCALE)


@given(st.lists(ohlc, min_size=1, max_size=120), st.integers(min_value=1, max_value=20))
def test_atr_stays_within_its_rounding_bound_of_the_exact_atr(bars: list[Bar], period: int) -> None:
    bound = Fraction(period, 2) + Fraction(1, 2)
    atr = ATR(period)
    for b, exact in zip(bars, wilder_exact(true_ranges(bars), period), strict=True):
        atr.on_bar(b)
        if exact is not None:
            assert abs(atr.num - exact * SCALE) <= bound


# --- VWAP -------------------------------------------------------------------------------------


@given(
    st.lists(
        st.tuples(prices, st.integers(0, 500), st.integers(0, 500), st.integers(0, 10_000)),
        min_size=1,
        max_size=100,
    )
)
def test_vwap_is_the_exact_volume_weighted_typical_price_of_the_day(
    rows: list[tuple[int, int, int, int]],
) -> None:
    vwap = VWAP()
    pv, vol = Fraction(0), 0
    for i, (low, up, down, v) in enumerate(rows):
        b = Bar("SBIN", SESSION_OPEN_NS + i * MINUTE_NS, low + down, low + up + down, low, low, v)
        vwap.on_bar(b)
        pv += Fraction(b.high + b.low + b.close, 3) * v
        vol += v
        assert vwap.ready == (vol > 0)
        if vol:
            assert as_fraction(vwap.num, vwap.den) == pv / vol


def test_vwap_resets_at_ist_midnight_not_utc_midnight() -> None:
    vwap = VWAP()
    # 2025-01-02 23:50 IST then 2025-01-03 00:10 IST: one UTC day, two IST days
    late = SESSION_OPEN_NS + 14 * HOUR_NS + 35 * MINUTE_NS
    vwap.on_bar(bar(1_000, ts_ns=late))
    vwap.on_bar(bar(2_000, ts_ns=late + 20 * MINUTE_NS))
    assert as_fraction(vwap.num, vwap.den) == 2_000

    # 2025-01-03 05:20 IST then 05:40 IST: two UTC days (23:50 and 00:10 UTC), one IST day
    early = late + 5 * HOUR_NS + 30 * MINUTE_NS
    vwap.on_bar(bar(3_000, ts_ns=early))
    vwap.on_bar(bar(5_000, ts_ns=early + 20 * MINUTE_NS))
    assert as_fraction(vwap.num, vwap.den) == Fraction(2_000 + 3_000 + 5_000, 3)


def test_vwap_is_not_ready_on_a_new_day_until_volume_trades() -> None:
    vwap = VWAP()
    next_day = SESSION_OPEN_NS + 24 * HOUR_NS
    readiness = []
    for b in (
        bar(1_000, volume=10),
        bar(2_000, ts_ns=next_day, volume=0),
        bar(3_000, ts_ns=next_day + MINUTE_NS, volume=5),
    ):
        vwap.on_bar(b)
        readiness.append(vwap.ready)

    assert readiness == [True, False, True]
    assert as_fraction(vwap.num, vwap.den) == 3_000


# --- Bollinger --------------------------------------------------------------------------------


def band_reference(window: Sequence[int], k: Fraction, price: int) -> tuple[bool, bool]:
    """Strictly beyond mid ± k × population sd, decided by squaring (no square roots)."""
    n = len(window)
    mid = Fraction(sum(window), n)
    var = sum((Fraction(x) - mid) ** 2 for x in window) / n
    d = price - mid
    beyond = d * d > k * k * var
    return d > 0 and beyond, d < 0 and beyond


@settings(max_examples=200)
@given(
    st.lists(st.integers(1, 2_000), min_size=1, max_size=60),
    st.integers(1, 20),
    st.sampled_from(["1", "2", "1.5", "2.25", "0.5", "3"]),
    st.integers(-400, 400),
)
def test_bollinger_band_tests_agree_with_exact_fractions(
    xs: list[int], period: int, k: str, offset: int
) -> None:
    boll = Bollinger(period, k)
    for i, x in enumerate(xs):
        boll.on_bar(bar(x))
        assert boll.ready == (i + 1 >= period)
    price = max(1, xs[-1] + offset)
    if not boll.ready:
        assert not boll.above_upper(price)
        assert not boll.below_lower(price)
        return
    above, below = band_reference(xs[-period:], Fraction(k), price)
    assert boll.above_upper(price) == above
    assert boll.below_lower(price) == below


@pytest.mark.parametrize(
    ("window", "k", "upper", "lower"),
    [
        ([100, 100, 102, 102], 2, 103, 99),  # mid 101, sd 1
        ([99, 99, 103, 103], "1.5", 104, 98),  # mid 101, sd 2
        ([99, 99, 103, 103], Decimal("0.5"), 102, 100),
        ([500, 500, 500], 2, 500, 500),  # no spread: the bands sit on the mid
    ],
)
def test_a_price_exactly_on_a_band_is_not_beyond_it(
    window: list[int], k: int | str | Decimal, upper: int, lower: int
) -> None:
    boll = Bollinger(len(window), k)
    for x in window:
        boll.on_bar(bar(x))
    assert not boll.above_upper(upper)
    assert boll.above_upper(upper + 1)
    assert not boll.below_lower(lower)
    assert boll.below_lower(lower - 1)
    assert boll.upper == pytest.approx(upper)
    assert boll.lower == pytest.approx(lower)


# --- Supertrend -------------------------------------------------------------------------------


def supertrend_reference(bars: Sequence[Bar], period: int, m: Fraction) -> list[tuple[int, bool]]:
    """Textbook Supertrend on the exact ATR: (direction, flipped) per bar, 0 before ready."""
    atrs = wilder_exact(true_ranges(bars), period)
    out: list[tuple[int, bool]] = []
    direction, upper, lower, prev_close = 0, Fraction(0), Fraction(0), 0
    for b, atr in zip(bars, atrs, strict=True):
        if atr is None:
            out.append((0, False))
            prev_close = b.close
            continue
        mid = Fraction(b.high + b.low, 2)
        basic_upper, basic_lower = mid + m * atr, mid - m * atr
        flipped = False
        if direction == 0:
            upper, lower = basic_upper, basic_lower
            direction = 1 if b.close >= mid else -1
        else:
            if basic_upper < upper or prev_close > upper:
                upper = basic_upper
            if basic_lower > lower or prev_close < lower:
                lower = basic_lower
            if direction == 1 and b.close < lower:
                direction, flipped = -1, True
            elif direction == -1 and b.close > upper:
                direction, flipped = 1, True
        out.append((direction, flipped))
        prev_close = b.close
    return out


@pytest.mark.parametrize(("seed", "period", "multiplier"), [(1, 10, "3"), (2, 7, "2.5"), (3, 3, 1)])
def test_supertrend_turns_where_the_exact_textbook_supertrend_turns(
    seed: int, period: int, multiplier: str | int
) -> None:
    bars = random_bars(seed, 1_500)
    want = supertrend_reference(bars, period, Fraction(multiplier))
    st_ = Supertrend(period, multiplier)
    got = []
    for b in bars:
        st_.on_bar(b)
        got.append((st_.direction, st_.flipped))
    assert got == want
    assert sum(f for _, f in got) > 10  # the walk turns often enough to test something


def test_supertrend_is_ready_after_period_bars_and_reads_the_active_band() -> None:
    bars = random_bars(9, 200)
    st_ = Supertrend(5, 2)
    for i, b in enumerate(bars):
        st_.on_bar(b)
        assert st_.ready == (i + 1 >= 5)
        if st_.ready:
            # the line sits below the close in an uptrend and above it in a downtrend
            close = b.close * SCALE
            assert (st_.num <= close) if st_.direction == 1 else (st_.num >= close)


# --- CrossOver --------------------------------------------------------------------------------


@dataclass
class Level:
    """A hand-set exact value standing in for an indicator."""

    num: int = 0
    den: int = 1
    ready: bool = True


def crossings(
    a_values: Sequence[Fraction | None], b_values: Sequence[Fraction | None]
) -> list[int]:
    """CrossOver's value on each bar; None stands for "not ready yet"."""
    a, b = Level(), Level()
    cross = CrossOver(a, b)
    out = []
    for av, bv in zip(a_values, b_values, strict=True):
        for level, v in ((a, av), (b, bv)):
            level.ready = v is not None
            if v is not None:
                level.num, level.den = v.numerator, v.denominator
        cross.on_bar(bar(100))
        out.append(cross.value)
    return out


def f(*xs: int | str | None) -> list[Fraction | None]:
    return [None if x is None else Fraction(x) for x in xs]


def test_equal_then_above_is_a_cross_up() -> None:
    assert crossings(f(5, 5, 6), f(6, 5, 5)) == [0, 0, 1]


def test_touching_from_above_is_not_a_cross_down_until_it_goes_below() -> None:
    assert crossings(f(7, 5, 4, 5, 6), f(5, 5, 5, 5, 5)) == [0, 0, -1, 0, 1]


def test_no_cross_on_the_first_ready_bar_even_when_above() -> None:
    assert crossings(f(None, None, 9, 9), f(1, 1, 1, 1)) == [0, 0, 0, 0]


def test_crossing_compares_fractions_exactly_not_their_floats() -> None:
    # 1/3 against 333333333333333333/10**18: equal as floats, not as numbers
    b = Fraction(333_333_333_333_333_333, 10**18)
    assert float(Fraction(1, 3)) == float(b)
    assert crossings(f(0, "1/3"), [b, b]) == [0, 1]


@given(st.lists(st.tuples(st.integers(-5, 5), st.integers(-5, 5)), min_size=1, max_size=60))
def test_crossover_signals_exactly_where_the_sign_of_a_minus_b_changes(
    pairs: list[tuple[int, int]],
) -> None:
    got = crossings([Fraction(a) for a, _ in pairs], [Fraction(b) for _, b in pairs])
    for i, value in enumerate(got):
        if i == 0:
            assert value == 0
            continue
        (pa, pb), (ca, cb) = pairs[i - 1], pairs[i]
        up = ca > cb and not pa > pb
        down = ca < cb and not pa < pb
        assert value == (1 if up else -1 if down else 0)


def test_sma_crossover_is_exact_where_float_rupee_averages_would_cross_early() -> None:
    closes = [70, 10, 20, 20, 10, 40]  # paise
    fast, slow = SMA(2), SMA(4)
    cross = CrossOver(fast, slow)
    got = []
    for x in closes:
        b = bar(x)
        fast.on_bar(b)
        slow.on_bar(b)
        cross.on_bar(b)
        got.append(cross.value)

    # a float rupee average sees 0.15000000000000002 > 0.15 on bar 5, where the means are equal
    rupees = [x / 100 for x in closes[:5]]
    assert sum(rupees[-2:]) / 2 > sum(rupees[-4:]) / 4
    assert compare(fast, slow) == 1  # bar 6: 25 against 22.5
    assert got == [0, 0, 0, 0, 0, 1]


@settings(max_examples=300)
@given(
    st.lists(st.integers(1, 60), min_size=1, max_size=200),
    st.integers(1, 12),
    st.integers(1, 12),
)
def test_fused_sma_crossover_equals_two_smas_and_their_crossover(
    closes: list[int], fast_period: int, slow_period: int
) -> None:
    # small prices: ties of the two averages (value 0, then a crossing from a tie) are common
    fast, slow = SMA(fast_period), SMA(slow_period)
    cross = CrossOver(fast, slow)
    fused = SmaCrossOver(SMA(fast_period), SMA(slow_period))
    for x in closes:
        b = bar(x)
        fast.on_bar(b)
        slow.on_bar(b)
        cross.on_bar(b)
        fused.on_bar(b)
        for mine, ref in ((fused.fast, fast), (fused.slow, slow)):
            assert (mine.num, mine.den, mine.count, mine.ready) == (
                ref.num,
                ref.den,
                ref.count,
                ref.ready,
            )
        assert (fused.value, fused.ready) == (cross.value, cross.ready)
        assert (fused.cross.value, fused.cross.ready) == (cross.value, cross.ready)


def test_fused_sma_crossover_takes_averages_of_the_close_only() -> None:
    with pytest.raises(ConfigError, match="of the close"):
        SmaCrossOver(SMA(2, "high"), SMA(4))


# --- parameter validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "fact"),
    [
        (lambda: SMA(0), "SMA period"),
        (lambda: SMA(-3), "SMA period"),
        (lambda: SMA(2.5), "SMA period"),  # type: ignore[arg-type]
        (lambda: SMA(True), "SMA period"),
        (lambda: EMA(0), "EMA period"),
        (lambda: RSI(0), "RSI period"),
        (lambda: ATR(-1), "ATR period"),
        (lambda: Bollinger(0), "Bollinger period"),
        (lambda: Bollinger(20, 2.0), "not a float"),  # type: ignore[arg-type]
        (lambda: Bollinger(20, "-1"), "Bollinger k must be positive"),
        (lambda: Bollinger(20, 0), "Bollinger k must be positive"),
        (lambda: Bollinger(20, "wide"), "'wide' is not a number"),
        (lambda: Supertrend(10, "-2"), "Supertrend multiplier must be positive"),
        (lambda: Supertrend(10, 2.5), "not a float"),  # type: ignore[arg-type]
        (lambda: Supertrend(0, 3), "ATR period"),
        (lambda: EMA(5, source="volume"), "'volume'"),
    ],
    ids=[
        "sma-zero",
        "sma-negative",
        "sma-float",
        "sma-bool",
        "ema-zero",
        "rsi-zero",
        "atr-negative",
        "bollinger-zero",
        "bollinger-float-k",
        "bollinger-negative-k",
        "bollinger-zero-k",
        "bollinger-text-k",
        "supertrend-negative-multiplier",
        "supertrend-float-multiplier",
        "supertrend-zero-period",
        "unknown-source",
    ],
)
def test_bad_indicator_parameters_are_config_errors_naming_them(build: object, fact: str) -> None:
    with pytest.raises(ConfigError) as info:
        build()  # type: ignore[operator]
    assert fact in str(info.value)
