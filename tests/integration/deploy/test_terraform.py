"""The Terraform of infra/: it parses, it holds the design's table per environment, the security
groups are exactly the design's, storage is encrypted, and no secret value is written down."""

from __future__ import annotations

import re

import pytest

from tests.integration.deploy.conftest import ENVIRONMENTS, INFRA, ROOT, parse, resources, unwrap

# DESIGN: ECS tasks 1 / 1 / 2-5, RDS db.t3.micro / small / medium, Multi-AZ and deletion protection
# in prod only, log retention 7 / 14 / 90, backup retention 7 / 7 / 30, autoscaling off / on / on.
DESIGN_TABLE = {
    "dev": {
        "trading_min_tasks": 1,
        "trading_max_tasks": 1,
        "db_instance_class": "db.t3.micro",
        "db_multi_az": False,
        "alb_deletion_protection": False,
        "db_deletion_protection": False,
        "log_retention_days": 7,
        "db_backup_retention_days": 7,
        "autoscaling": False,
    },
    "staging": {
        "trading_min_tasks": 1,
        "db_instance_class": "db.t3.small",
        "db_multi_az": False,
        "alb_deletion_protection": False,
        "db_deletion_protection": False,
        "log_retention_days": 14,
        "db_backup_retention_days": 7,
        "autoscaling": True,
    },
    "prod": {
        "trading_min_tasks": 2,
        "trading_max_tasks": 5,
        "db_instance_class": "db.t3.medium",
        "db_multi_az": True,
        "alb_deletion_protection": True,
        "db_deletion_protection": True,
        "log_retention_days": 90,
        "db_backup_retention_days": 30,
        "autoscaling": True,
    },
}


def stack_values(environment: str) -> dict[str, object]:
    modules = parse(INFRA / "envs" / environment / "main.tf")["module"]
    (stack,) = [block["stack"] for block in modules if "stack" in block]
    return {key: unwrap(value) for key, value in stack.items()}


def test_every_terraform_file_parses() -> None:
    files = sorted(INFRA.rglob("*.tf"))
    assert len(files) > 20
    for path in files:
        parse(path)  # raises on a syntax error, naming nothing better than the parser does


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_environment_holds_the_design_table(environment: str) -> None:
    values = stack_values(environment)
    assert values["environment"] == environment
    assert values["source"] == "../../modules/stack"
    for key, expected in DESIGN_TABLE[environment].items():
        assert values[key] == expected, f"{environment}: {key}"
    assert values["trading_max_tasks"] >= values["trading_min_tasks"]  # type: ignore[operator]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_state_is_remote_in_s3_with_locking(environment: str) -> None:
    backend = parse(INFRA / "envs" / environment / "backend.tf")["terraform"][0]["backend"][0]
    s3 = backend["s3"]
    assert unwrap(s3["use_lockfile"]) is True
    assert unwrap(s3["encrypt"]) is True
    assert environment in unwrap(s3["key"])


def test_the_trading_service_scales_on_cpu_at_70_percent() -> None:
    ecs = INFRA / "modules" / "ecs"
    policy = resources(ecs / "main.tf", "aws_appautoscaling_policy")["trading_cpu"]
    config = unwrap(policy["target_tracking_scaling_policy_configuration"])
    metric = unwrap(config["predefined_metric_specification"])
    assert unwrap(metric["predefined_metric_type"]) == "ECSServiceAverageCPUUtilization"
    variables = parse(ecs / "variables.tf")["variable"]
    (target,) = [v["trading_cpu_target"] for v in variables if "trading_cpu_target" in v]
    assert unwrap(target["default"]) == 70


def _rules() -> list[tuple[str, str, int, str]]:
    """(kind, security group, port, source) of every rule in the stack."""
    path = INFRA / "modules" / "stack" / "security_groups.tf"
    rules = []
    for kind in ("aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"):
        for body in resources(path, kind).values():
            group = unwrap(body["security_group_id"])
            source = unwrap(body.get("cidr_ipv4", body.get("referenced_security_group_id")))
            port = unwrap(body["from_port"])
            assert port == unwrap(body["to_port"]), "one port per rule"
            rules.append((kind.split("_")[-2], group, port, source))
    return rules


def test_security_groups_are_exactly_the_design_table() -> None:
    ingress = {(g, p, s) for kind, g, p, s in _rules() if kind == "ingress"}
    assert ingress == {
        ("${aws_security_group.alb.id}", 80, "0.0.0.0/0"),
        ("${aws_security_group.alb.id}", 443, "0.0.0.0/0"),
        ("${aws_security_group.ecs.id}", 8501, "${aws_security_group.alb.id}"),
        ("${aws_security_group.rds.id}", 5432, "${aws_security_group.ecs.id}"),
    }
    egress = {(g, p, s) for kind, g, p, s in _rules() if kind == "egress"}
    assert ("${aws_security_group.rds.id}", 5432, "${aws_security_group.ecs.id}") not in egress
    assert not any(g == "${aws_security_group.rds.id}" for g, _, _ in egress), "RDS sends nothing"


def test_database_and_bucket_are_encrypted_and_private() -> None:
    db = resources(INFRA / "modules" / "rds" / "main.tf", "aws_db_instance")["this"]
    assert unwrap(db["storage_encrypted"]) is True
    assert unwrap(db["publicly_accessible"]) is False
    assert unwrap(db["manage_master_user_password"]) is True
    assert "password" not in db, "the master password lives in Secrets Manager only"
    s3 = INFRA / "modules" / "storage" / "main.tf"
    sse = resources(s3, "aws_s3_bucket_server_side_encryption_configuration")["data"]
    default = unwrap(unwrap(unwrap(sse["rule"])["apply_server_side_encryption_by_default"]))
    assert unwrap(default["sse_algorithm"]) == "AES256"
    block = resources(s3, "aws_s3_bucket_public_access_block")["data"]
    for key in (
        "block_public_acls",
        "block_public_policy",
        "ignore_public_acls",
        "restrict_public_buckets",
    ):
        assert unwrap(block[key]) is True
    versioning = resources(s3, "aws_s3_bucket_versioning")["data"]
    assert unwrap(unwrap(versioning["versioning_configuration"])["status"]) == "Enabled"
    bucket = resources(s3, "aws_s3_bucket")["data"]
    assert unwrap(bucket["bucket"]).startswith("algo-trading-${var.environment}-data-")
    assert "aws:SecureTransport" in s3.read_text(encoding="utf-8")


_SECRET_SHAPES = [
    re.compile(r"AKIA[0-9A-Z]{16}"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"(?i)(password|secret|token|api_key|totp)\s*=\s*\"[^\"$]{4,}\""),
    re.compile(r"(?i)(password|secret|token|api_key|totp)\s*:\s*['\"]?[A-Za-z0-9+/]{12,}"),
]


def test_no_secret_value_in_terraform_or_workflows() -> None:
    files = [*INFRA.rglob("*.tf"), *(ROOT / ".github").rglob("*.yml")]
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        for shape in _SECRET_SHAPES:
            match = shape.search(text)
            assert match is None, f"{path.relative_to(ROOT)}: {match.group(0) if match else ''}"
