"""A process that writes bars into a history store in a loop, announcing each write, until it is
killed: the store's atomicity test kills it with SIGKILL at arbitrary points."""

from __future__ import annotations

import sys

from algo_trading.adapters.history.bars import BarSeries
from algo_trading.adapters.history.store import ParquetBarStore
from algo_trading.engine.ports import BarKey
from tests.support.history import ist_ns, make_bars

KEY = BarKey("NSE", "SBIN-EQ", "ONE_MINUTE")
CHUNK = 2_000


def reference() -> BarSeries:
    """Every bar the victim will ever write, in order (the test compares against it)."""
    return make_bars("SBIN-EQ", ist_ns(2025, 1, 2, 9, 15), 100 * CHUNK, seed=9)


def main(root: str) -> None:
    store = ParquetBarStore(root)
    bars = reference()
    cols = ("ts_ns", "open", "high", "low", "close", "volume")
    for i in range(100):
        part = BarSeries("SBIN-EQ", *(getattr(bars, c)[i * CHUNK : (i + 1) * CHUNK] for c in cols))
        store.write(KEY, part)
        print(i + 1, flush=True)  # noqa: T201 - the test reads these lines


if __name__ == "__main__":
    main(sys.argv[1])
