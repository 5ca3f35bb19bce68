"""What ties the deployment to the code: the alarms watch metrics the services emit under the same
names; the task definitions set only settings the services know; compose starts each service
only once what it needs is healthy."""

from __future__ import annotations

import io
import json
import re

import pytest
import yaml

from algo_trading.services.cloudwatch import APP_METRICS, EmfEmitter
from algo_trading.services.settings import SECRET_NAMES, Settings, env_name
from tests.integration.deploy.conftest import INFRA, ROOT, parse, unwrap


def _alarmed_app_metrics() -> set[str]:
    monitoring = parse(INFRA / "modules" / "monitoring" / "main.tf")
    names: set[str] = set()
    for block in monitoring["locals"]:
        if "app_alarms" in block:
            names |= set(unwrap(block["app_alarms"]))
    return names


def test_the_alarms_watch_the_metrics_the_services_emit() -> None:
    assert _alarmed_app_metrics() == set(APP_METRICS)


def test_an_emf_line_is_a_cloudwatch_metric_in_the_environment_namespace() -> None:
    out = io.StringIO()
    emitter = EmfEmitter("AlgoTrading/prod", "trading", lambda: 1_700_000_000_123_456_789, out)
    emitter.emit("OrderRejections", 2)
    emitter.emit("FeedStaleSeconds", 31.5)
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    meta = first["_aws"]
    assert meta["Timestamp"] == 1_700_000_000_123
    (directive,) = meta["CloudWatchMetrics"]
    assert directive["Namespace"] == "AlgoTrading/prod"
    assert directive["Dimensions"] == [["Service"]]
    assert directive["Metrics"] == [{"Name": "OrderRejections", "Unit": "Count"}]
    assert first["Service"] == "trading"
    assert first["OrderRejections"] == 2
    assert second["FeedStaleSeconds"] == 31.5


def test_an_unknown_metric_is_refused_rather_than_sent_where_no_alarm_looks() -> None:
    emitter = EmfEmitter("AlgoTrading/dev", "trading", lambda: 0, io.StringIO())
    with pytest.raises(ValueError, match="OrderRejection"):
        emitter.emit("OrderRejection")


def test_the_namespace_terraform_gives_is_a_valid_setting() -> None:
    text = (INFRA / "modules" / "stack" / "main.tf").read_text(encoding="utf-8")
    assert 'metrics_namespace = "AlgoTrading/${var.environment}"' in text
    for environment in ("dev", "staging", "prod"):
        Settings(metrics_namespace=f"AlgoTrading/{environment}")


def _task_variable_names() -> set[str]:
    text = (INFRA / "modules" / "ecs" / "main.tf").read_text(encoding="utf-8")
    return set(re.findall(r"\b(ALGO_[A-Z0-9_]+)\s*=", text))


def test_task_definitions_set_only_settings_the_services_know() -> None:
    known = {env_name(name) for name in Settings.model_fields}
    known |= {env_name(name) for name in SECRET_NAMES.values()}
    names = _task_variable_names()
    assert "ALGO_DATABASE_URL" in names
    unknown = sorted(names - known)
    assert unknown == [], f"the services would refuse to start on {unknown}"


def test_task_definitions_run_the_images_own_commands() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text(encoding="utf-8")
    ecs = (INFRA / "modules" / "ecs" / "main.tf").read_text(encoding="utf-8")
    for target in ("trading", "data", "dashboard"):
        stage = dockerfile.split(f"AS {target}\n", 1)[1].split("\nFROM ", 1)[0]
        (cmd,) = re.findall(r"^CMD (\[.*\])$", stage, flags=re.MULTILINE)
        command = json.loads(cmd)
        rendered = "[" + ", ".join(f'"{part}"' for part in command) + "]"
        assert f"command     = {rendered}" in ecs, f"{target}: {rendered}"


def _has_healthcheck(service: dict[str, object]) -> bool:
    """Its own in compose.yaml, or its image's HEALTHCHECK (a stage of docker/Dockerfile)."""
    if "healthcheck" in service:
        return True
    build = service.get("build")
    if not isinstance(build, dict):
        return False
    dockerfile = (ROOT / build["dockerfile"]).read_text(encoding="utf-8")
    stage = dockerfile.split(f"AS {build['target']}\n", 1)[1].split("\nFROM ", 1)[0]
    return "HEALTHCHECK" in stage


def test_compose_starts_each_service_after_what_it_needs_is_healthy() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"postgres", "redis", "s3", "simulator", "trading", "data", "dashboard"} <= set(services)
    for name, service in services.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            condition = rule["condition"]
            if condition == "service_healthy":
                assert _has_healthcheck(services[dependency]), f"{dependency}: no healthcheck"
            else:
                assert condition == "service_completed_successfully"
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
        if name in ("trading", "data", "dashboard"):
            assert service["build"]["target"] == name


def test_the_trading_services_metrics_write_the_alarms_figures_when_emf_is_on() -> None:
    from algo_trading.services.metrics import ServiceMetrics

    out = io.StringIO()
    metrics = ServiceMetrics(instance_id="t1", mode="paper")
    metrics.emf = EmfEmitter("AlgoTrading/prod", "trading", lambda: 0, out)
    metrics.refusal("DAILY_LOSS_LIMIT", "sma")
    metrics.refusal("MAX_OPEN_ORDERS", "sma")
    metrics.reconciliation({"IN_SYNC": 5, "NEVER_SENT": 1, "DUPLICATE": 2})
    metrics.feed_lag(42.0)
    metrics.feed_lag(43.0)  # within ten seconds of the last line: the gauge only
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    figures = [(n, d[n]) for d in lines for n in APP_METRICS if n in d]
    assert figures == [
        ("OrderRejections", 1),
        ("DailyLossLimitHit", 1),
        ("OrderRejections", 1),
        ("ReconciliationDifferences", 3),
        ("FeedStaleSeconds", 42.0),
    ]
    assert {d["_aws"]["CloudWatchMetrics"][0]["Namespace"] for d in lines} == {"AlgoTrading/prod"}


def test_every_runtime_dependency_is_pinned_with_hashes_for_the_images() -> None:
    import re as _re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {
        _re.split(r"[<>=!~\[; ]", dep, maxsplit=1)[0].lower().replace("_", "-")
        for dep in project["dependencies"]
    }
    text = (ROOT / "docker" / "requirements.txt").read_text(encoding="utf-8")
    pinned = {
        m.group(1).lower().replace("_", "-")
        for m in _re.finditer(r"^([A-Za-z0-9_.-]+)==\S+ \\$", text, flags=_re.MULTILINE)
    }
    missing = sorted(wanted - pinned)
    assert missing == [], f"re-run pip-compile (docker/requirements.txt): {missing} not pinned"
    assert text.count("--hash=sha256:") >= len(pinned)
    assert "/opt/" not in text
