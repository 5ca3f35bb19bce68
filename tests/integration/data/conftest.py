"""Fixtures of the data service tests: a Telegram Bot API on loopback for the reports."""

from tests.support.alert_servers import bot_api

__all__ = ["bot_api"]
