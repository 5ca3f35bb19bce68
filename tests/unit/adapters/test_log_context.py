"""Service log lines carry the instance id, the strategy and the client order id (issue #10
item 9): set once, or per call, and read back from the JSON each line is."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from algo_trading.adapters.logs import (
    ContextAdapter,
    current_log_context,
    install_logging,
    log_context,
    set_instance_id,
)

log = logging.getLogger("algo_trading.test.context")


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = install_logging(logging.INFO, as_json=True, stream=stream)
    set_instance_id("trading-2")
    try:
        yield stream
    finally:
        set_instance_id(None)
        logging.getLogger().removeHandler(handler)


def _records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_every_line_carries_the_instance_id_even_a_librarys(lines: io.StringIO) -> None:
    log.info("starting")
    logging.getLogger("httpx").warning("a library speaks")
    assert [r["instance_id"] for r in _records(lines)] == ["trading-2", "trading-2"]


def test_strategy_and_order_id_appear_within_their_block_only(lines: io.StringIO) -> None:
    with log_context(strategy="sma-sbin", client_order_id="c-0001"):
        log.info("order sent")
    log.info("outside")
    inside, outside = _records(lines)
    assert inside["strategy"] == "sma-sbin"
    assert inside["client_order_id"] == "c-0001"
    assert "strategy" not in outside
    assert "client_order_id" not in outside


def test_an_inner_block_adds_to_the_outer_and_restores_it(lines: io.StringIO) -> None:
    with log_context(strategy="sma-sbin"):
        with log_context(client_order_id="c-7"):
            log.info("inner")
        log.info("outer")
    inner, outer = _records(lines)
    assert (inner["strategy"], inner["client_order_id"]) == ("sma-sbin", "c-7")
    assert outer["strategy"] == "sma-sbin"
    assert "client_order_id" not in outer


def test_a_calls_own_extra_wins_over_the_context(lines: io.StringIO) -> None:
    with log_context(strategy="sma-sbin"):
        log.info("explicit", extra={"strategy": "rsi-infy"})
    assert _records(lines)[0]["strategy"] == "rsi-infy"


def test_a_bound_adapter_merges_its_fields_with_the_calls(lines: io.StringIO) -> None:
    bound = ContextAdapter(log, {"strategy": "sma-sbin"})
    bound.info("placed", extra={"client_order_id": "c-9"})
    record = _records(lines)[0]
    assert (record["strategy"], record["client_order_id"]) == ("sma-sbin", "c-9")
    assert record["instance_id"] == "trading-2"


def test_each_thread_has_its_own_call_context() -> None:
    seen: dict[str, dict[str, str]] = {}

    def worker() -> None:
        seen["thread"] = current_log_context()

    with log_context(strategy="main-only"):
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(5)
    assert "strategy" not in seen["thread"]


def test_each_asyncio_task_has_its_own_call_context() -> None:
    async def one(strategy: str, gate: asyncio.Event, out: dict[str, str]) -> None:
        with log_context(strategy=strategy):
            await gate.wait()  # both tasks are inside their blocks at once
            out[strategy] = current_log_context()["strategy"]

    async def main() -> dict[str, str]:
        gate, out = asyncio.Event(), {}
        tasks = [asyncio.create_task(one(s, gate, out)) for s in ("a", "b")]
        await asyncio.sleep(0)
        gate.set()
        await asyncio.gather(*tasks)
        return out

    assert asyncio.run(main()) == {"a": "a", "b": "b"}


def test_a_blank_instance_id_is_refused() -> None:
    with pytest.raises(ValueError, match="blank"):
        set_instance_id("  ")


def test_a_context_value_holding_a_secret_is_masked(lines: io.StringIO) -> None:
    jwt = "eyJhbGciOiJIUzUxMiJ9.eyJ1c2VybmFtZSI6IlMxIn0.c2lnbmF0dXJl"
    with log_context(client_order_id=jwt):
        log.info("odd id")
    assert jwt not in lines.getvalue()
