"""The loopback servers of tests/support/alert_servers.py, as fixtures for this folder."""

from tests.support.alert_servers import aws_endpoint, bot_api, fake_aws, smtp_plain, smtp_tls

__all__ = ["aws_endpoint", "bot_api", "fake_aws", "smtp_plain", "smtp_tls"]
