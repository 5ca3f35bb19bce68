"""algo-trading: one event-driven engine for backtesting, paper and live trading on NSE and BSE."""

__version__ = "0.1.0"
__all__ = ["__version__"]
