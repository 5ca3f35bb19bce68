"""The fill model shared by every simulated venue."""

from algo_trading.matching.fill_model import BarMatcher, Match, MatchKind, RestingOrder

__all__ = ["BarMatcher", "Match", "MatchKind", "RestingOrder"]
