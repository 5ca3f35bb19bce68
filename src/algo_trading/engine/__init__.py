"""The engine: clock, event queue, order manager, risk hook, portfolio and strategy runner."""

from algo_trading.engine.clock import SimulatedClock
from algo_trading.engine.engine import MemoryAuditLog, MemoryTradeLog, TradingEngine
from algo_trading.engine.order_manager import NoCharges, OrderManager, SequentialIds
from algo_trading.engine.portfolio import Portfolio
from algo_trading.engine.ports import Broker, ChargesModel, Clock, IdGenerator, ReportSink, TradeLog
from algo_trading.engine.risk import (
    ALLOW,
    AllowAll,
    NoDeliveryShort,
    RiskChain,
    RiskCheck,
    RiskDecision,
    RiskView,
)

__all__ = [
    "ALLOW",
    "AllowAll",
    "Broker",
    "ChargesModel",
    "Clock",
    "IdGenerator",
    "MemoryAuditLog",
    "MemoryTradeLog",
    "NoCharges",
    "NoDeliveryShort",
    "OrderManager",
    "Portfolio",
    "ReportSink",
    "RiskChain",
    "RiskCheck",
    "RiskDecision",
    "RiskView",
    "SequentialIds",
    "SimulatedClock",
    "TradeLog",
    "TradingEngine",
]
