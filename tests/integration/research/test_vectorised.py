"""The vectorised crossover path gives the event-driven engine's answer exactly: over random bars
and random parameters (fast < slow, long only or with shorts, DELIVERY or INTRADAY with its
square-off and cut-off, quantities, slippage, charge schedules, and cash amounts small enough
that orders are refused for funds), every fill (time, side, quantity, price, charges
in paise), every round trip, the equity at every bar and every metric are equal. Where it does
not model the settings, it says why and `evaluate` runs the engine."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from algo_trading.adapters.history import BarSeries
from algo_trading.backtest import generate_bars, metrics_of
from algo_trading.research.evaluate import BacktestSpec, evaluate, evaluation_path, run_one
from algo_trading.research.vectorised import unsupported, vector_metrics, vector_run

TICK = 5


@st.composite
def bar_series(draw: st.DrawFn) -> BarSeries:
    """Minute bars over several sessions (overnight gaps), prices on the tick, often flat so
    that averages tie and crossings through equality are exercised."""
    n = draw(st.integers(2, 1200))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if draw(st.booleans()):  # NSE's sessions, 375 bars a day
        ts = generate_bars(n, symbol="SBIN", seed=1).ts_ns
    else:  # any times: off-session bars, nights, weekends and holidays (no cut-off that day)
        gaps = rng.choice([1, 60, 60, 60, 600, 3600, 18 * 3600, 3 * 86_400], size=n)
        start = draw(st.sampled_from([1_704_080_700, 1_735_700_000, 1_767_225_600]))  # 2024-2026
        ts = (start + np.cumsum(gaps)) * 10**9
    spread = draw(st.sampled_from([1, 2, 4]))
    steps = rng.integers(-spread, spread + 1, size=n)
    flat = rng.random(n) < draw(st.sampled_from([0.0, 0.3, 0.8]))
    steps[flat] = 0
    base = draw(st.sampled_from([2, 20, 400, 20_000, 300_000]))  # ticks: 10 paise to ₹15,000
    close_t = np.maximum(base + np.cumsum(steps), 1)
    open_t = np.maximum(close_t - rng.integers(-spread, spread + 1, size=n), 1)
    close, open_ = close_t * TICK, open_t * TICK
    high = np.maximum(open_, close) + TICK * rng.integers(0, 2, size=n)
    low = np.maximum(np.minimum(open_, close) - TICK * rng.integers(0, 2, size=n), TICK)
    volume = rng.integers(0, 5000, size=n)
    return BarSeries(
        "SBIN",
        ts.astype(np.int64),
        open_.astype(np.int64),
        high.astype(np.int64),
        low.astype(np.int64),
        close.astype(np.int64),
        volume.astype(np.int64),
    )


def _fills(rows):  # type: ignore[no-untyped-def]
    return [(f.ts_ns, f.side, f.quantity, f.price_paise, f.charges_paise) for f in rows]


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    series=bar_series(),
    strategy=st.sampled_from(["sma_crossover", "ema_crossover"]),
    fast=st.integers(1, 30),
    gap=st.integers(1, 60),
    quantity=st.integers(1, 200),
    cash_rupees=st.sampled_from([1, 50, 2_000, 30_000, 500_000, 10**7]),
    charges=st.sampled_from(["angelone", "zerodha", "none"]),
    slippage=st.integers(0, 3),
    product=st.sampled_from([None, "delivery", "intraday"]),
    allow_short=st.booleans(),
)
def test_every_fill_trip_equity_and_metric_equal_the_engines(
    series: BarSeries,
    strategy: str,
    fast: int,
    gap: int,
    quantity: int,
    cash_rupees: int,
    charges: str,
    slippage: int,
    product: str | None,
    allow_short: bool,
) -> None:
    if allow_short and product == "delivery":
        product = "intraday"  # a DELIVERY short is the risk chain's refusal: not vectorised
    params = {"fast": fast, "slow": fast + gap, "allow_short": allow_short}
    spec = BacktestSpec(
        strategy,
        quantity=quantity,
        cash_paise=cash_rupees * 100,
        charges=charges,
        product=product,
        slippage_ticks=slippage,
    )
    assert unsupported(spec, [series], params) is None
    vec = vector_run(spec, [series], params)
    eng = run_one(BacktestSpec(**{**asdict(spec), "engine": "event"}), [series], params).run
    assert _fills(vec.fills) == _fills(eng.fills)
    assert vec.round_trips == eng.round_trips
    assert vec.charges_paise == eng.charges_paise
    assert np.array_equal(vec.timeline_ns, eng.timeline_ns)
    assert np.array_equal(vec.equity_paise, eng.equity_paise)
    assert np.array_equal(vec.exposed, eng.exposed)
    assert asdict(vec.metrics) == asdict(metrics_of(eng))
    refused = [o for o in eng.orders if "INSUFFICIENT_FUNDS" in o.reason]
    assert vec.refused == len(refused)
    assert len(eng.orders) >= len(vec.fills)


def test_the_random_cases_do_refuse_buys_and_do_cross_through_ties() -> None:
    """The property above covers refusals and ties: a case of each, checked by hand."""
    s = generate_bars(3000, symbol="SBIN", seed=3)
    spec = BacktestSpec("sma_crossover", quantity=5, cash_paise=int(s.close[0]) * 6)
    vec = vector_run(spec, [s], {"fast": 3, "slow": 9})
    eng = run_one(BacktestSpec(**{**asdict(spec), "engine": "event"}), [s], {"fast": 3, "slow": 9})
    assert vec.refused > 0
    assert _fills(vec.fills) == _fills(eng.run.fills)
    assert asdict(vec.metrics) == asdict(metrics_of(eng.run))


def test_settings_it_does_not_model_run_on_the_engine_and_say_why() -> None:
    s = generate_bars(800, symbol="SBIN", seed=5)
    other = generate_bars(800, symbol="INFY", seed=6)
    spec = BacktestSpec("sma_crossover", quantity=3)
    cases = [
        (
            BacktestSpec("sma_crossover", product="delivery"),
            [s],
            {"fast": 3, "slow": 9, "allow_short": True},
            "DELIVERY",
        ),
        (spec, [s, other], {"fast": 3, "slow": 9}, "2 symbols"),
        (BacktestSpec("rsi_reversion"), [s], {}, "no vectorised form"),
        (BacktestSpec("sma_crossover", engine="event"), [s], {"fast": 3, "slow": 9}, "asked"),
    ]
    for case_spec, data, params, why in cases:
        reason = unsupported(case_spec, data, params)
        assert reason is not None
        assert why in reason
        assert vector_metrics(case_spec, data, params) is None
        assert evaluation_path(case_spec, data, params).startswith("event-driven")
        engine = metrics_of(run_one(case_spec, data, params).run)
        assert evaluate(case_spec, data, params) == engine
    assert evaluation_path(spec, [s], {"fast": 3, "slow": 9}) == "vectorised"
