"""Where trials run: in this process, in local worker processes (all cores by default), or on
Ray (local by default, a cluster by address). Every backend returns the same metrics for the
same parameters: a backtest is deterministic, and only where it runs differs.

Each worker receives the bars once: the process pool through its initializer, Ray through one
object in its store that each actor reads once at start.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from typing import Any

from algo_trading.adapters.history import BarSeries
from algo_trading.domain.errors import ConfigError
from algo_trading.research.evaluate import BacktestSpec, evaluate

__all__ = ["BACKENDS", "Backend", "check_ray_address", "make_backend"]

Params = Mapping[str, Any]
MetricsDict = dict[str, Any]

_worker_spec: BacktestSpec | None = None
_worker_series: Sequence[BarSeries] = ()


def _init_worker(spec: BacktestSpec, series: Sequence[BarSeries]) -> None:
    global _worker_spec, _worker_series
    _worker_spec, _worker_series = spec, series


def _run_in_worker(params: Params) -> MetricsDict:
    if _worker_spec is None:
        raise RuntimeError("a sweep worker ran a trial before it was given its data")
    return asdict(evaluate(_worker_spec, _worker_series, params))


class Backend:
    """Maps parameter sets to metrics dicts, in the order given."""

    name = "sequential"

    def __init__(self, spec: BacktestSpec, series: Sequence[BarSeries]) -> None:
        self.spec = spec
        self.series = series

    def map(
        self, params: Sequence[Params], done: Callable[[], None] | None = None
    ) -> list[MetricsDict]:
        results = []
        for p in params:
            results.append(asdict(evaluate(self.spec, self.series, p)))
            if done:
                done()
        return results

    def close(self) -> None:
        return None


class LocalBackend(Backend):
    name = "local"

    def __init__(
        self, spec: BacktestSpec, series: Sequence[BarSeries], workers: int | None = None
    ) -> None:
        super().__init__(spec, series)
        self.workers = workers or os.cpu_count() or 1
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers, initializer=_init_worker, initargs=(spec, list(series))
        )

    def map(
        self, params: Sequence[Params], done: Callable[[], None] | None = None
    ) -> list[MetricsDict]:
        futures = [self._pool.submit(_run_in_worker, dict(p)) for p in params]
        results = []
        for f in futures:
            results.append(f.result())
            if done:
                done()
        return results

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)


def check_ray_address(address: str, timeout_s: float = 3.0) -> None:
    """A cluster address must answer before Ray is asked to join it (Ray itself waits long)."""
    host, sep, port = address.rpartition(":")
    if address.startswith("ray://"):
        host, sep, port = address[len("ray://") :].rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"--ray-address {address!r}: expected HOST:PORT or ray://HOST:PORT")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        raise ConfigError(f"--ray-address {address}: unreachable ({exc.strerror or exc})") from None


class RayBackend(Backend):
    name = "ray"

    def __init__(
        self,
        spec: BacktestSpec,
        series: Sequence[BarSeries],
        workers: int | None = None,
        address: str | None = None,
    ) -> None:
        super().__init__(spec, series)
        import ray  # heavy; only for this backend

        if address:
            check_ray_address(address)
        self._ray = ray
        self._own = not ray.is_initialized()
        if self._own:
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address:
                kwargs["address"] = address
            else:
                kwargs["num_cpus"] = workers or os.cpu_count() or 1
            ray.init(**kwargs)
        count = workers or int(ray.cluster_resources().get("CPU", 1))  # type: ignore[no-untyped-call,unused-ignore]
        data = ray.put((spec, list(series)))

        @ray.remote
        class _Worker:
            def __init__(self, payload: tuple[BacktestSpec, list[BarSeries]]) -> None:
                self.spec, self.series = payload

            def run(self, params: dict[str, Any]) -> MetricsDict:
                return asdict(evaluate(self.spec, self.series, params))

        self._actors = [_Worker.remote(data) for _ in range(max(1, count))]  # type: ignore[attr-defined,unused-ignore]

    def map(
        self, params: Sequence[Params], done: Callable[[], None] | None = None
    ) -> list[MetricsDict]:
        from ray.util import ActorPool

        pool = ActorPool(self._actors)
        results: list[MetricsDict] = []
        stream: Iterator[MetricsDict] = pool.map(
            lambda a, p: a.run.remote(p), [dict(p) for p in params]
        )
        for r in stream:
            results.append(r)
            if done:
                done()
        return results

    def close(self) -> None:
        for actor in self._actors:
            self._ray.kill(actor)
        if self._own:
            self._ray.shutdown()


BACKENDS = ("sequential", "local", "ray")


def make_backend(
    name: str,
    spec: BacktestSpec,
    series: Sequence[BarSeries],
    *,
    workers: int | None = None,
    ray_address: str | None = None,
) -> Backend:
    if name == "sequential":
        return Backend(spec, series)
    if name == "local":
        return LocalBackend(spec, series, workers)
    if name == "ray":
        return RayBackend(spec, series, workers, ray_address)
    raise ConfigError(f"--backend {name!r} is unknown (known: {', '.join(BACKENDS)})")
