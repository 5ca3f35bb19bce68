"""An Angel One SmartAPI simulator: the same REST routes, envelopes, binary feed and order-status
socket, over a simulated NSE market (issue #5). The test double and the paper-trading broker."""

from algo_trading.simulator.config import FaultConfig, SimulatorConfig
from algo_trading.simulator.server import SimulatorServer
from algo_trading.simulator.testing import running_simulator

__all__ = ["FaultConfig", "SimulatorConfig", "SimulatorServer", "running_simulator"]
