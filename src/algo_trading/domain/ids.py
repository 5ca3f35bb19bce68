"""Typed identifiers: a ClientOrderId can't be passed where a BrokerOrderId is expected (mypy)."""

from __future__ import annotations

from typing import NewType

__all__ = ["BrokerOrderId", "ClientOrderId", "InstrumentToken", "StrategyId", "TradeId"]

ClientOrderId = NewType("ClientOrderId", str)
"""Our id for an order, unique across every copy of the service; sent to the broker as its tag."""

BrokerOrderId = NewType("BrokerOrderId", str)
"""The broker's id for an order (Angel One `orderid`)."""

InstrumentToken = NewType("InstrumentToken", str)
"""The broker's token for an instrument (Angel One `symboltoken`, e.g. "3045" for SBIN-EQ)."""

StrategyId = NewType("StrategyId", str)
"""The name a strategy instance runs under; carried on every order as its tag's prefix."""

TradeId = NewType("TradeId", str)
"""The id of one execution (fill) as reported by the venue."""
