"""E-mail through an SMTP server with the standard library: one message per alert, STARTTLS
when asked (and required before a password goes over anything but loopback), a login when a
user is set. A new connection per alert: alerts are rare, and a connection held open would
time out between them."""

from __future__ import annotations

import ipaddress
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from pydantic import SecretStr

from algo_trading.adapters.logs import register_secret
from algo_trading.adapters.notify.channel import ChannelError, render_body, render_subject
from algo_trading.domain.errors import ConfigError
from algo_trading.engine.ports import Alert

__all__ = ["SmtpChannel"]

_MAX_SUBJECT = 200  # RFC 5322 folds long headers; a subject past this is not read anyway


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SmtpChannel:
    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        recipients: Sequence[str],
        username: str = "",
        password: SecretStr | None = None,
        starttls: bool = True,
        timeout_s: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not host or not sender or not recipients:
            raise ConfigError("smtp alerts: host, sender and at least one recipient must be set")
        if username and not starttls and not _is_loopback(host):
            raise ConfigError(
                f"smtp alerts: logging in to {host} without STARTTLS would send the password "
                "in clear; turn STARTTLS on"
            )
        self._host = host
        self._port = port
        self._sender = sender
        self._recipients = list(recipients)
        self._username = username
        self._password = password if password is not None else SecretStr("")
        if self._password.get_secret_value():
            register_secret(self._password.get_secret_value())
        self._starttls = starttls
        self._timeout_s = timeout_s
        self._ssl_context = ssl_context

    def __repr__(self) -> str:
        return f"SmtpChannel(host={self._host!r}, port={self._port}, starttls={self._starttls})"

    def _where(self) -> str:
        return f"smtp {self._host}:{self._port}"

    def _message(self, alert: Alert) -> EmailMessage:
        msg = EmailMessage()
        subject = render_subject(alert)
        if len(subject) > _MAX_SUBJECT:
            subject = subject[: _MAX_SUBJECT - 3].rstrip() + "..."
        msg["Subject"] = subject
        msg["From"] = self._sender
        msg["To"] = ", ".join(self._recipients)
        msg["Date"] = formatdate(alert.ts_ns / 1e9, usegmt=True)
        msg["Message-ID"] = make_msgid(domain=self._sender.rpartition("@")[2] or None)
        msg["X-Algo-Alert-Code"] = alert.code
        msg.set_content(render_body(alert))
        return msg

    def send(self, alert: Alert) -> None:
        message = self._message(alert)
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout_s) as smtp:
                if self._starttls:
                    context = self._ssl_context or ssl.create_default_context()
                    smtp.starttls(context=context)
                if self._username:
                    smtp.login(self._username, self._password.get_secret_value())
                refused = smtp.send_message(message)
        except smtplib.SMTPAuthenticationError as exc:
            raise ChannelError(
                f"{self._where()}: login as {self._username!r} refused ({exc.smtp_code}); "
                "check the user and password"
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise ChannelError(f"{self._where()}: the server does not offer STARTTLS") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"{self._where()}: {type(exc).__name__}: {exc}") from None
        if refused:
            raise ChannelError(
                f"{self._where()}: refused recipient(s) {', '.join(sorted(refused))}"
            )

    def close(self) -> None:
        return None
