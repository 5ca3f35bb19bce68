"""The in-process simulated broker and its placement check on buying power."""

from algo_trading.adapters.brokers.simulated.broker import SimulatedBroker
from algo_trading.adapters.brokers.simulated.funds import INSUFFICIENT_FUNDS, BuyingPower

__all__ = ["INSUFFICIENT_FUNDS", "BuyingPower", "SimulatedBroker"]
