"""`backtest --save` (issue #11 item 5): a run's configuration, data fingerprint, metrics and
trades in the object store under backtest-results/YYYY/MM/<run-id>/, and its row in
`backtest_runs` (with its fills in `backtest_trades`) naming where they are.

Order: the result files first, `manifest.json` (every file with its SHA-256) last, then the
database row pointing at the manifest. A crash before the row leaves orphan objects no one
points to, never a row pointing at missing results.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tempfile
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from algo_trading.adapters.objectstore.layout import backtest_key, backtest_prefix
from algo_trading.backtest import BacktestRun, Metrics, RunLabels, summary, write_outputs
from algo_trading.domain.events import IST
from algo_trading.domain.fills import Fill
from algo_trading.domain.positions import Position
from algo_trading.engine.ports import ObjectStore, UnitOfWork
from algo_trading.research.tearsheet import tearsheet_data, tearsheet_html

__all__ = ["SavedRun", "data_fingerprint", "new_run_id", "realized_by_fill", "save_backtest"]


_COLUMNS = ("ts_ns", "open", "high", "low", "close", "volume")


@dataclass(frozen=True, slots=True)
class SavedRun:
    run_id: str
    manifest_uri: str
    keys: tuple[str, ...]
    fingerprint: str


def new_run_id(started_ns: int) -> str:
    """`bt-YYYYMMDDTHHMMSS-<8 hex>` (IST): sorts by start, unique without coordination."""
    when = dt.datetime.fromtimestamp(started_ns / 1e9, IST)
    return f"bt-{when:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def data_fingerprint(series: Iterable[Any]) -> str:
    """SHA-256 of the input bars: each series by symbol, its timestamps and OHLCV as int64
    little-endian. The same bars give the same fingerprint whatever file they came from."""
    digest = hashlib.sha256()
    for s in sorted(series, key=lambda s: str(s.symbol)):
        digest.update(str(s.symbol).encode() + b"\0")
        digest.update(len(s).to_bytes(8, "little"))
        for name in _COLUMNS:
            digest.update(getattr(s, name).astype("<i8").tobytes())
    return digest.hexdigest()


def realized_by_fill(fills: Sequence[Fill]) -> list[tuple[Fill, int]]:
    """Each fill with the P&L it realized, booked the way the engine's portfolio books it
    (one position per strategy, symbol and product)."""
    books: dict[tuple[str, str, str], Position] = {}
    out = []
    for f in fills:
        key = (str(f.strategy_id), f.symbol, f.product.value)
        pos = books.get(key)
        if pos is None:
            pos = books[key] = Position(f.symbol)
        out.append((f, pos.apply_fill(f.signed_quantity, f.price_paise, f.ts_ns, f.charges_paise)))
    return out


def save_backtest(
    run: BacktestRun,
    metrics: Metrics,
    labels: RunLabels,
    config: Mapping[str, Any],
    series: Sequence[Any],
    *,
    store: ObjectStore,
    uow_factory: Callable[[], UnitOfWork],
    started_ns: int,
    finished_ns: int,
    run_id: str | None = None,
    charged: Sequence[Any] = (),
) -> SavedRun:
    run_id = run_id or new_run_id(started_ns)
    day = dt.datetime.fromtimestamp(started_ns / 1e9, IST).date()
    fingerprint = data_fingerprint(series)
    result = summary(run, metrics, labels)
    documents: dict[str, bytes] = {
        "config.json": _json(
            {
                "run_id": run_id,
                "config": dict(config),
                "data": {
                    "fingerprint_sha256": fingerprint,
                    "symbols": sorted(str(s.symbol) for s in series),
                    "bars": sum(len(s) for s in series),
                },
            }
        ),
    }
    # the tearsheet (issue #14): one self-contained HTML page and its figures as JSON, beside
    # the configuration and fingerprint that reproduce the run
    sheet = tearsheet_data(run, metrics, json.loads(documents["config.json"]), charged)
    documents["tearsheet.json"] = _json(sheet)
    documents["tearsheet.html"] = tearsheet_html(sheet, f"{run.strategy.name} {run_id}").encode()
    with tempfile.TemporaryDirectory(prefix="algo-bt-") as folder:
        for path in write_outputs(run, metrics, Path(folder), labels):
            name = "metrics.json" if path.name == "summary.json" else path.name
            documents[name] = path.read_bytes()
    keys = []
    files = {}
    for name, data in documents.items():
        key = backtest_key(run_id, day, name)
        info = store.put(key, data, content_type=_content_type(name))
        keys.append(key)
        files[name] = {"sha256": info.sha256, "size": info.size}
    manifest = backtest_key(run_id, day, "manifest.json")
    store.put(
        manifest,
        _json({"run_id": run_id, "prefix": backtest_prefix(run_id, day), "files": files}),
        content_type="application/json",
    )
    keys.append(manifest)
    params = {k: str(v) for k, v in config.get("params", {}).items()}
    row_summary = {k: str(v) for k, v in result.items() if not isinstance(v, dict | list)}
    row_summary["data_fingerprint"] = fingerprint
    with uow_factory() as uow:
        uow.runs.start_backtest(run_id, run.strategy.name, params, started_ns)
        uow.runs.add_backtest_trades(run_id, realized_by_fill(run.fills))
        uow.runs.finish_backtest(run_id, "DONE", row_summary, store.uri(manifest), finished_ns)
        uow.commit()
    return SavedRun(run_id, store.uri(manifest), tuple(keys), fingerprint)


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode()


def _content_type(name: str) -> str:
    if name.endswith(".html"):
        return "text/html; charset=utf-8"
    return "application/json" if name.endswith(".json") else "text/csv"
