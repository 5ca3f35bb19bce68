"""The one error hierarchy, typed by what the caller should do.

    AlgoTradingError                  -- anything this package raises on purpose
    ├── InvalidInputError             -- the user's input is wrong: fix it, run again (exit 2)
    │   ├── DataError                 -- a market-data file is unreadable or inconsistent
    │   └── ConfigError               -- an unknown strategy or parameter, or a wrong type
    ├── IllegalTransitionError        -- an order event that its current state does not allow (a bug
    │                                    or a broker report we must reconcile, never ignore)
    ├── OrderError                    -- an order request that can't be built (bad quantity, price)
    ├── StorageError                  -- the database can't do what was asked
    │   ├── DatabaseUnavailableError  -- can't connect or log in: check the URL, or retry later
    │   ├── SchemaVersionError        -- the schema is not the code's: run `algo-trading db upgrade`
    │   ├── DuplicateOrderError       -- the client order id is taken: never send this order
    │   ├── CacheUnavailableError     -- Redis is unreachable: degrade to direct reads
    │   └── ObjectStoreError          -- the object store failed (S3 bucket or local folder)
    │       ├── ObjectStoreUnavailableError -- cannot reach or write the bucket/folder
    │       ├── ObjectNotFoundError   -- no object under that key
    │       └── ChecksumMismatchError -- stored bytes do not match their SHA-256: corrupt
    ├── StaleLeaseError               -- this instance no longer owns the strategy: send nothing
    └── StrategyError                 -- user strategy code raised; names the strategy and the hook

Messages say what, where and what next, on one line.
"""

from __future__ import annotations

__all__ = [
    "AlgoTradingError",
    "CacheUnavailableError",
    "ChecksumMismatchError",
    "ConfigError",
    "DataError",
    "DatabaseUnavailableError",
    "DuplicateOrderError",
    "IllegalTransitionError",
    "InvalidInputError",
    "ObjectNotFoundError",
    "ObjectStoreError",
    "ObjectStoreUnavailableError",
    "OrderError",
    "SchemaVersionError",
    "StaleLeaseError",
    "StorageError",
    "StrategyError",
]


class AlgoTradingError(Exception):
    """Base of every error this package raises on purpose."""


class InvalidInputError(AlgoTradingError):
    """The user's input is wrong; the message says where and what."""


class DataError(InvalidInputError):
    """A market-data file is missing, unreadable or inconsistent (message names file and row)."""


class ConfigError(InvalidInputError):
    """An unknown name, a missing setting, or a value of the wrong type."""


class OrderError(AlgoTradingError):
    """An order request that cannot be built: non-positive quantity, price off the paisa, …"""


class IllegalTransitionError(AlgoTradingError):
    """An order event its current state does not allow; names the order, the state, the event."""

    def __init__(self, order_id: str, state: str, event: str) -> None:
        self.order_id = order_id
        self.state = state
        self.event = event
        super().__init__(f"order {order_id}: event {event} is illegal in state {state}")


class StrategyError(AlgoTradingError):
    """User strategy code raised; the strategy is stopped, the engine goes on."""

    def __init__(self, strategy: str, hook: str, cause: BaseException, where: str = "") -> None:
        self.strategy = strategy
        self.hook = hook
        self.cause = cause
        at = f" at {where}" if where else ""
        super().__init__(
            f"strategy {strategy!r} raised in {hook}{at}: {type(cause).__name__}: {cause}"
        )


class StorageError(AlgoTradingError):
    """The database cannot do what was asked (names the host and database, never a password)."""


class DatabaseUnavailableError(StorageError):
    """Cannot connect or log in: fix the URL or the credentials, or retry when it is back."""


class SchemaVersionError(StorageError):
    """The schema is older (or newer) than this code; the message says which command fixes it."""


class DuplicateOrderError(StorageError):
    """A client order id is already taken: the order must not be sent (someone else owns it)."""


class StaleLeaseError(AlgoTradingError):
    """The intent carried a lease epoch that is not the strategy's current one (taken over,
    expired or released): nothing was written, and the order must not be sent. Stop trading
    the strategy until its lease is acquired again and reconciled."""

    def __init__(self, strategy: str, detail: str) -> None:
        self.strategy = strategy
        super().__init__(f"strategy {strategy}: {detail}; this order was not recorded, not sent")


# --- cache and object store (issue #11, data service) ----------------------------------------


class CacheUnavailableError(StorageError):
    """The cache server cannot be reached. Services degrade to direct reads; a command that was
    told to use it stops with this one line (fix ALGO_REDIS_URL or start the server)."""


class ObjectStoreError(StorageError):
    """The object store refused or failed an operation (names the store and the key)."""


class ObjectStoreUnavailableError(ObjectStoreError):
    """The bucket or folder cannot be reached or written: fix the setting, or retry later."""


class ObjectNotFoundError(ObjectStoreError):
    """No object under that key."""


class ChecksumMismatchError(ObjectStoreError):
    """An object's bytes do not match the SHA-256 stored with it: it is corrupt, never used."""
