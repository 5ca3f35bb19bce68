"""SmtpChannel against a real SMTP server on 127.0.0.1 (aiosmtpd): a plain server, and one that
requires STARTTLS and a login on a self-signed certificate; refusals become ChannelErrors that
never carry the password."""

from __future__ import annotations

import email
import email.policy
import traceback
from email.message import EmailMessage

import pytest
from pydantic import SecretStr

from algo_trading.adapters.notify import ChannelError, SmtpChannel
from algo_trading.domain.errors import ConfigError
from algo_trading.engine.ports import Alert, AlertSeverity
from tests.support.alert_servers import SMTP_USER, SmtpServer, free_port

T0 = 1_764_660_000 * 1_000_000_000
SENDER = "algo@example.com"
TO = ["trader@example.com", "ops@example.com"]


def breach() -> Alert:
    return Alert(
        "RISK_BREACH",
        AlertSeverity.CRITICAL,
        "DAILY_LOSS_LIMIT: loss=₹5,120.00, limit=₹5,000.00; no new orders",
        T0,
        strategy="sma-sbin",
        account="A123",
        details={"loss_paise": "512000", "limit_paise": "500000"},
    )


def parsed(server: SmtpServer, index: int = 0) -> EmailMessage:
    content = server.mailbox.messages[index].content
    assert isinstance(content, bytes)
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_an_alert_is_one_mail_to_every_recipient_with_a_one_line_subject(
    smtp_plain: SmtpServer,
) -> None:
    SmtpChannel("127.0.0.1", smtp_plain.port, sender=SENDER, recipients=TO, starttls=False).send(
        breach()
    )

    [envelope] = smtp_plain.mailbox.messages
    assert envelope.mail_from == SENDER
    assert envelope.rcpt_tos == TO
    message = parsed(smtp_plain)
    assert message["Subject"].startswith("[CRITICAL] RISK_BREACH strategy=sma-sbin account=A123")
    assert message["X-Algo-Alert-Code"] == "RISK_BREACH"
    body = message.get_content()
    assert "loss=₹5,120.00" in body
    assert "loss_paise: 512000" in body
    assert "time: 2025-12-02 12:50:00 IST" in body


def test_starttls_and_a_login_deliver_on_a_server_that_requires_both(smtp_tls: SmtpServer) -> None:
    SmtpChannel(
        "127.0.0.1",
        smtp_tls.port,
        sender=SENDER,
        recipients=TO[:1],
        username=SMTP_USER,
        password=SecretStr(smtp_tls.password),
        starttls=True,
        ssl_context=smtp_tls.client_context,
    ).send(breach())

    assert smtp_tls.mailbox.logins == [SMTP_USER]
    assert parsed(smtp_tls)["Subject"].startswith("[CRITICAL] RISK_BREACH")


def test_a_wrong_password_is_a_channel_error_that_does_not_carry_it(smtp_tls: SmtpServer) -> None:
    wrong = smtp_tls.password + "-wrong"
    ch = SmtpChannel(
        "127.0.0.1",
        smtp_tls.port,
        sender=SENDER,
        recipients=TO,
        username=SMTP_USER,
        password=SecretStr(wrong),
        ssl_context=smtp_tls.client_context,
    )
    with pytest.raises(ChannelError, match="login as 'alerts' refused") as caught:
        ch.send(breach())

    shown = "".join(traceback.format_exception(caught.value))
    assert wrong not in shown
    assert smtp_tls.mailbox.messages == []


def test_sending_without_starttls_to_a_server_that_requires_it_is_a_channel_error(
    smtp_tls: SmtpServer,
) -> None:
    ch = SmtpChannel("127.0.0.1", smtp_tls.port, sender=SENDER, recipients=TO, starttls=False)
    with pytest.raises(ChannelError, match=rf"smtp 127.0.0.1:{smtp_tls.port}"):
        ch.send(breach())
    assert smtp_tls.mailbox.messages == []


def test_a_certificate_the_client_does_not_trust_is_a_channel_error(smtp_tls: SmtpServer) -> None:
    ch = SmtpChannel("127.0.0.1", smtp_tls.port, sender=SENDER, recipients=TO, starttls=True)
    with pytest.raises(ChannelError, match="SSLCertVerificationError"):
        ch.send(breach())


def test_asking_starttls_of_a_server_that_does_not_offer_it_is_a_channel_error(
    smtp_plain: SmtpServer,
) -> None:
    ch = SmtpChannel("127.0.0.1", smtp_plain.port, sender=SENDER, recipients=TO, starttls=True)
    with pytest.raises(ChannelError, match="does not offer STARTTLS"):
        ch.send(breach())


def test_no_server_is_a_channel_error_naming_host_and_port() -> None:
    port = free_port()
    ch = SmtpChannel("127.0.0.1", port, sender=SENDER, recipients=TO, starttls=False)
    with pytest.raises(ChannelError, match=rf"smtp 127.0.0.1:{port}: ConnectionRefusedError"):
        ch.send(breach())


def test_a_login_without_starttls_to_a_remote_server_is_refused_at_construction() -> None:
    with pytest.raises(ConfigError, match="password in clear"):
        SmtpChannel(
            "smtp.example.com",
            25,
            sender=SENDER,
            recipients=TO,
            username="u",
            password=SecretStr("p"),
            starttls=False,
        )
