"""The engine: clock, event queue, order manager, risk manager and kill switch, portfolio and
strategy runner."""

from algo_trading.engine.clock import SimulatedClock
from algo_trading.engine.context import StrategyView
from algo_trading.engine.engine import MemoryAuditLog, MemoryTradeLog, TradingEngine
from algo_trading.engine.order_manager import (
    NoCharges,
    OrderChange,
    OrderManager,
    ReportIncident,
    SequentialIds,
)
from algo_trading.engine.parents import ParentOrder
from algo_trading.engine.portfolio import BookKey, Portfolio
from algo_trading.engine.ports import (
    Broker,
    ChargesModel,
    Clock,
    IdGenerator,
    OrderSender,
    ReportSink,
    TradeLog,
)
from algo_trading.engine.risk import (
    ALLOW,
    AllowAll,
    KillSwitchState,
    NoDeliveryShort,
    RiskAction,
    RiskActionKind,
    RiskChain,
    RiskCheck,
    RiskCode,
    RiskDecision,
    RiskGate,
    RiskLimits,
    RiskManager,
    RiskView,
)
from algo_trading.engine.sender import InlineSender

__all__ = [
    "ALLOW",
    "AllowAll",
    "BookKey",
    "Broker",
    "ChargesModel",
    "Clock",
    "IdGenerator",
    "InlineSender",
    "KillSwitchState",
    "MemoryAuditLog",
    "MemoryTradeLog",
    "NoCharges",
    "NoDeliveryShort",
    "OrderChange",
    "OrderManager",
    "OrderSender",
    "ParentOrder",
    "Portfolio",
    "ReportIncident",
    "ReportSink",
    "RiskAction",
    "RiskActionKind",
    "RiskChain",
    "RiskCheck",
    "RiskCode",
    "RiskDecision",
    "RiskGate",
    "RiskLimits",
    "RiskManager",
    "RiskView",
    "SequentialIds",
    "SimulatedClock",
    "StrategyView",
    "TradeLog",
    "TradingEngine",
]
