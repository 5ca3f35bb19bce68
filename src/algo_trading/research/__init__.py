"""Research at scale: tearsheets, parameter sweeps (grid and Optuna), walk-forward analysis,
on local processes or Ray. It drives the backtester; it has no trading logic of its own."""

from algo_trading.research.objectives import OBJECTIVES, objective_value
from algo_trading.research.space import Constraint, Dimension, grid, parse_constraint, parse_space

__all__ = [
    "OBJECTIVES",
    "Constraint",
    "Dimension",
    "grid",
    "objective_value",
    "parse_constraint",
    "parse_space",
]
