"""The day's price bands come from the broker (issue #10 item 5): at start the service reads
each traded symbol's circuit limits from the quote API in FULL mode, and an order priced
outside the band is refused with PRICE_BAND before it reaches the broker."""

from __future__ import annotations

from pathlib import Path

from tests.support.inprocess import (
    inprocess_config,
    inprocess_plugins,
    inprocess_settings,
    intent,
    running,
)


def test_the_bands_are_read_from_the_broker_at_start_and_refuse_an_order_outside(
    tmp_path: Path,
) -> None:
    settings = inprocess_settings(tmp_path)
    config = inprocess_config(settings, tmp_path, "sma-band", "[risk]\nmax_order_quantity = 100\n")
    with running(settings, config, inprocess_plugins(settings, config)) as service:
        manager = service.engine.risk_manager
        assert manager is not None
        band = manager.price_bands.get("SBIN-EQ")
        assert band is not None, "no band read from the simulator's quote"
        assert 0 < band.lower_paise < band.upper_paise
        placed = service.broker.place_requests  # type: ignore[attr-defined]
        engine = service.engine
        tick = engine.instrument("SBIN-EQ").tick_size_paise
        above = engine.submit(intent("sma-band", limit_paise=band.upper_paise + tick))
        below = engine.submit(intent("sma-band", limit_paise=band.lower_paise - tick))
        for coid in (above, below):
            order = engine.orders.orders[coid]
            assert order.status.value == "REJECTED"
            assert order.reason.startswith("PRICE_BAND"), order.reason
        engine.drain()
        assert service.broker.place_requests == placed  # type: ignore[attr-defined]
