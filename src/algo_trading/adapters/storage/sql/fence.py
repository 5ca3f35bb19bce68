"""How the fence of migration 0005 says no, and the error the trading path raises for it.

The trigger on `orders` refuses an intent whose lease owner and epoch are not the strategy's
current ones: on PostgreSQL with its own SQLSTATE, on SQLite with a message that starts with
STALE_LEASE (RAISE takes a literal there). A migration is frozen, so it keeps its own copy of
both; the fencing tests (tests/integration/storage/test_leases.py) fail if they disagree.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from algo_trading.domain.errors import StaleLeaseError
from algo_trading.engine.ports import LeaseToken

__all__ = ["STALE_LEASE", "STALE_LEASE_SQLSTATE", "fence_error", "stale_lease"]

STALE_LEASE_SQLSTATE = "AL409"  # class "AL": ours
STALE_LEASE = "stale lease"


def stale_lease(exc: DBAPIError) -> bool:
    """Whether a database error is the fence refusing an intent."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == STALE_LEASE_SQLSTATE:
        return True
    return str(orig).startswith(STALE_LEASE)


def fence_error(strategy_id: str, token: LeaseToken | None) -> StaleLeaseError:
    """The refusal, naming the lease term the intent carried."""
    term = "no lease term" if token is None else f"owner {token.owner} epoch {token.epoch}"
    return StaleLeaseError(
        strategy_id,
        f"the database refused an intent under {term} (lease taken over, expired or released)",
    )
