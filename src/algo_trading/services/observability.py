"""The health and metrics parts of one service, built from the settings in one call, for the
composition root (issue #10 item 9):

    obs = Observability.from_settings(settings, instance_id="trading-1", mode="paper")
    obs.health.add_check("database", probe(ping_database))   # once bootstrap has made them
    obs.start()                                                # before the first loop turn
    ...  each turn: obs.heartbeat.beat(); obs.metrics.loop_latency(seconds)
    obs.stop()                                                 # when draining is done

Building it opens no socket and touches no logger; `start()` listens and names the instance in
every log record.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib import metadata

from algo_trading.adapters.logs import set_instance_id
from algo_trading.services.cloudwatch import EmfEmitter
from algo_trading.services.health import Health, Heartbeat, MonotonicClock
from algo_trading.services.health_server import HealthServer
from algo_trading.services.metrics import ServiceMetrics
from algo_trading.services.settings import Settings

__all__ = ["Observability"]


@dataclass(frozen=True, slots=True)
class Observability:
    instance_id: str
    heartbeat: Heartbeat
    health: Health
    metrics: ServiceMetrics
    server: HealthServer

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        instance_id: str,
        mode: str,
        clock: MonotonicClock = time.monotonic,
    ) -> Observability:
        heartbeat = Heartbeat(settings.health_stale_after_s, clock)
        health = Health(heartbeat)
        metrics = ServiceMetrics(instance_id=instance_id, mode=mode, version=_version())
        if settings.metrics_emf:
            metrics.emf = EmfEmitter(settings.metrics_namespace, "trading", time.time_ns)
        metrics.watch_heartbeat(heartbeat.age_s)
        server = HealthServer(
            health, metrics.registry, host=settings.health_host, port=settings.health_port
        )
        return cls(instance_id, heartbeat, health, metrics, server)

    def start(self) -> None:
        """Name the instance in the logs and listen (HealthServerError if the port is taken)."""
        set_instance_id(self.instance_id)
        self.server.start()

    def stop(self) -> None:
        self.server.stop()


def _version() -> str:
    try:
        return metadata.version("algo-trading")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return ""
