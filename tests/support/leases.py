"""An in-memory `Leases` (engine/ports.py) for unit tests of whatever keeps leases (the
trading service's lease keeper): the same rules as SqlLeases, held to them by
tests/contract/test_leases_contract.py. One process only; it fences nothing by itself."""

from __future__ import annotations

from dataclasses import replace

from algo_trading.domain.errors import ConfigError
from algo_trading.engine.ports import Lease, LeaseToken

__all__ = ["MemoryLeases"]


class MemoryLeases:
    def __init__(self) -> None:
        self.leases: dict[str, Lease] = {}
        self.audit: list[tuple[str, str, str]] = []  # (owner, action, strategy)

    def acquire(self, strategy_id: str, owner: str, ttl_ns: int, now_ns: int) -> Lease | None:
        _check_ttl(ttl_ns)
        old = self.leases.get(strategy_id)
        if old is not None and old.owner not in (None, owner) and old.expires_ns > now_ns:
            return None
        epoch = 1 if old is None else old.epoch + 1
        lease = Lease(strategy_id, owner, epoch, now_ns, now_ns, now_ns + ttl_ns)
        self.leases[strategy_id] = lease
        action = "lease.acquire" if old is None or old.owner is None else "lease.takeover"
        self.audit.append((owner, action, strategy_id))
        return lease

    def renew(self, strategy_id: str, token: LeaseToken, ttl_ns: int, now_ns: int) -> Lease | None:
        _check_ttl(ttl_ns)
        old = self._held(strategy_id, token)
        if old is None or old.expires_ns <= now_ns:
            return None
        lease = replace(old, renewed_ns=now_ns, expires_ns=now_ns + ttl_ns)
        self.leases[strategy_id] = lease
        return lease

    def release(self, strategy_id: str, token: LeaseToken, now_ns: int) -> bool:
        old = self._held(strategy_id, token)
        if old is None:
            return False
        self.leases[strategy_id] = replace(old, owner=None, renewed_ns=now_ns, expires_ns=now_ns)
        self.audit.append((token.owner, "lease.release", strategy_id))
        return True

    def get(self, strategy_id: str) -> Lease | None:
        return self.leases.get(strategy_id)

    def held_by(self, owner: str, now_ns: int) -> list[Lease]:
        return sorted(
            (x for x in self.leases.values() if x.owner == owner and x.expires_ns > now_ns),
            key=lambda x: x.strategy_id,
        )

    def available(self, now_ns: int) -> list[Lease]:
        return sorted(
            (x for x in self.leases.values() if x.owner is None or x.expires_ns <= now_ns),
            key=lambda x: (x.expires_ns, x.strategy_id),
        )

    def _held(self, strategy_id: str, token: LeaseToken) -> Lease | None:
        lease = self.leases.get(strategy_id)
        if lease is None or (lease.owner, lease.epoch) != (token.owner, token.epoch):
            return None
        return lease


def _check_ttl(ttl_ns: int) -> None:
    if ttl_ns <= 0:
        raise ConfigError(f"a lease's time to live must be positive, got {ttl_ns} ns")
