"""Column types that keep money exact and time zone-aware on every database we support.

PostgreSQL stores money as NUMERIC rupees (`price NUMERIC(18, 2)` reads as ₹ in any SQL tool)
and time as TIMESTAMP WITH TIME ZONE. SQLite has neither an exact decimal nor a zoned
timestamp, so there money is an INTEGER count of the smallest unit (paise, or 1/10,000 rupee
for averages) and time is UTC text; the conversions live here and nowhere else. Python always
sees int paise, Decimal rupees for averages, and aware UTC datetimes. Migrations import these
types, so their storage must never change; add a new type instead.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Numeric
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["AvgPrice", "Paise", "UtcDateTime", "datetime_to_ns", "ns_to_datetime"]

_UTC = dt.UTC


def ns_to_datetime(ts_ns: int) -> dt.datetime:
    """Epoch nanoseconds -> aware UTC datetime (microseconds: what both databases keep)."""
    seconds, ns = divmod(ts_ns, 1_000_000_000)
    return dt.datetime.fromtimestamp(seconds, tz=_UTC).replace(microsecond=ns // 1000)


def datetime_to_ns(value: dt.datetime) -> int:
    """Aware datetime -> epoch nanoseconds, exact to the microsecond."""
    delta = value - dt.datetime(1970, 1, 1, tzinfo=_UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


class Paise(TypeDecorator[int]):
    """Money: Python int paise; NUMERIC(18, 2) rupees on PostgreSQL, INTEGER paise on SQLite."""

    impl = Numeric(18, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(18, 2, asdecimal=True))

    def process_bind_param(self, value: int | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"money is int paise, got {type(value).__name__} {value!r}")
        if dialect.name == "sqlite":
            return value
        return Decimal(value).scaleb(-2)

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return int(value)
        paise = Decimal(value).scaleb(2)
        if paise != paise.to_integral_value():
            raise ValueError(f"money column holds {value}, finer than one paisa")
        return int(paise)


class AvgPrice(TypeDecorator[Decimal]):
    """An average price in rupees to 1/10,000 (exact averages can be fractional paise):
    Python Decimal; NUMERIC(18, 4) on PostgreSQL, INTEGER ten-thousandths on SQLite."""

    impl = Numeric(18, 4)
    cache_ok = True
    _SCALE = 4

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(18, self._SCALE, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"an average price is a Decimal, got {type(value).__name__}")
        q = value.quantize(Decimal(1).scaleb(-self._SCALE))
        if q != value:
            raise ValueError(f"average price {value} has more than {self._SCALE} decimals")
        if dialect.name == "sqlite":
            return int(q.scaleb(self._SCALE))
        return q

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-self._SCALE)
        return Decimal(value).quantize(Decimal(1).scaleb(-self._SCALE))


class UtcDateTime(TypeDecorator[dt.datetime]):
    """TIMESTAMP WITH TIME ZONE; refuses naive datetimes and always returns aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"a naive datetime {value.isoformat()} has no time zone")
        utc = value.astimezone(_UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"timestamp column returned {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=_UTC)
        return value.astimezone(_UTC)
