"""`PriceBands` (services/risk_setup.py): the broker's band of each traded symbol into the risk
manager at start and at each IST day's start; a symbol without one, or a failed read, is
logged once and leaves the symbol without a band while every other check goes on."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pytest

from algo_trading.domain import OrderSide
from algo_trading.engine.risk import RiskLimits
from algo_trading.market.prices import PriceBand
from algo_trading.services.risk_setup import PriceBands
from tests.support.builders import ist_ns
from tests.unit.engine.risk_rig import INFY, SBIN, risk_rig

BAND = PriceBand(90_00, 110_00)


class Source:
    def __init__(self, *answers: Mapping[str, PriceBand | None] | Exception) -> None:
        self.answers = list(answers)
        self.calls = 0

    def __call__(self) -> Mapping[str, PriceBand | None]:
        self.calls += 1
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_bands_read_at_start_refuse_outside_and_are_read_again_only_on_a_new_day(
    caplog: pytest.LogCaptureFixture,
) -> None:
    r = risk_rig(RiskLimits(max_order_quantity=5))
    source = Source({SBIN: BAND, INFY: None}, {SBIN: PriceBand(99_00, 121_00), INFY: None})
    bands = PriceBands(source, r.manager, [SBIN, INFY])
    with caplog.at_level(logging.WARNING, logger="algo_trading.services.risk_setup"):
        bands.refresh(r.clock.now_ns())
        bands.refresh(r.clock.now_ns() + 60 * 10**9)  # the same day: not read again
        assert source.calls == 1
        assert r.code(r.order(OrderSide.BUY, 1, 111_00)) == "PRICE_BAND"
        assert r.code(r.order(OrderSide.BUY, 1, 110_00)) == ""
        # no band for INFY: no band check, the other checks still hold
        assert r.code(r.order(OrderSide.BUY, 1, 500_00, symbol=INFY)) == ""
        assert r.code(r.order(OrderSide.BUY, 6, 500_00, symbol=INFY)) == "MAX_ORDER_QUANTITY"
        r.at("09:00", "2024-01-03")
        bands.refresh(r.clock.now_ns())  # the next day's band
    assert source.calls == 2
    assert r.manager.price_bands[SBIN] == PriceBand(99_00, 121_00)
    said = [rec.getMessage() for rec in caplog.records if INFY in rec.getMessage()]
    assert len(said) == 1  # logged once, not once a day


def test_a_failed_read_is_logged_once_and_tried_again_until_it_succeeds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    r = risk_rig()
    source = Source(OSError("quote refused"), OSError("quote refused"), {SBIN: BAND, INFY: BAND})
    bands = PriceBands(source, r.manager, [SBIN, INFY])
    now = ist_ns("2024-01-02", "09:00")
    with caplog.at_level(logging.WARNING, logger="algo_trading.services.risk_setup"):
        bands.refresh(now)
        bands.refresh(now + 60 * 10**9)
    assert r.manager.price_bands == {}
    assert r.code(r.order(OrderSide.BUY, 1, 200_00)) == ""  # no band, nothing refused for it
    assert len([rec for rec in caplog.records if "not read" in rec.getMessage()]) == 1
    bands.refresh(now + 120 * 10**9)
    assert r.manager.price_bands == {SBIN: BAND, INFY: BAND}
    assert source.calls == 3


def test_a_band_read_before_the_pre_open_is_read_again_at_it() -> None:
    r = risk_rig(hhmm="08:00")
    source = Source({SBIN: PriceBand(80_00, 100_00)}, {SBIN: BAND})
    bands = PriceBands(source, r.manager, [SBIN])
    bands.refresh(r.clock.now_ns())  # at start, 08:00: what the quote says now
    r.at("08:30")
    bands.refresh(r.clock.now_ns())
    assert source.calls == 1
    r.at("09:00")
    bands.refresh(r.clock.now_ns())  # the pre-open: the day's band
    r.at("09:01")
    bands.refresh(r.clock.now_ns())
    assert source.calls == 2
    assert r.manager.price_bands[SBIN] == BAND
