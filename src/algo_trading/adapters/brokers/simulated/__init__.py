"""The in-process simulated broker."""

from algo_trading.adapters.brokers.simulated.broker import SimulatedBroker

__all__ = ["SimulatedBroker"]
