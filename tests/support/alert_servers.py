"""Loopback servers for the alert channels: moto's SNS/SQS protocol server, an aiosmtpd SMTP
server (plain, or STARTTLS with AUTH on a self-signed certificate), and a small HTTP server
that answers the Telegram Bot API's sendMessage. Nothing leaves 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import socket
import ssl
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.aws import REGION, isolate_from_aws, moto_server

SMTP_USER = "alerts"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# --- AWS (moto) ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def aws_endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_from_aws(monkeypatch, tmp_path)


def topic_with_queue(endpoint: str) -> tuple[str, str]:
    """A new topic and an SQS queue subscribed to it: (topic ARN, queue URL)."""
    sns: Any = boto3.client("sns", region_name=REGION, endpoint_url=endpoint)
    sqs: Any = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint)
    name = f"alerts-{uuid.uuid4().hex[:12]}"
    topic_arn = sns.create_topic(Name=name)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return topic_arn, queue_url


def delivered(endpoint: str, queue_url: str) -> list[dict[str, Any]]:
    """The SNS notifications that reached the queue (the JSON envelope SNS wraps them in)."""
    sqs: Any = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint)
    answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return [json.loads(m["Body"]) for m in answer.get("Messages", [])]


# --- SMTP (aiosmtpd) -------------------------------------------------------------------------


@dataclass
class Mailbox:
    messages: list[Envelope] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    received: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        self.messages.append(envelope)
        self.received.set()
        return "250 OK"


@dataclass(frozen=True)
class SmtpServer:
    port: int
    mailbox: Mailbox
    client_context: ssl.SSLContext | None = None
    password: str = ""


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def smtp_plain() -> Iterator[SmtpServer]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield SmtpServer(port, mailbox)
    controller.stop()


@pytest.fixture
def smtp_tls(tmp_path: Path) -> Iterator[SmtpServer]:
    """STARTTLS required, and AUTH (only after TLS) with one user and a fresh password."""
    mailbox = Mailbox()
    password = f"pw-{os.urandom(8).hex()}"
    cert, key = _self_signed(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=os.fspath(cert))

    def authenticate(
        server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login == SMTP_USER.encode()
        ok = ok and data.password == password.encode()
        if ok:
            mailbox.logins.append(SMTP_USER)
        return AuthResult(success=ok, handled=False)  # the server answers 535 itself

    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_context,
        require_starttls=True,
        authenticator=authenticate,
        auth_require_tls=True,
    )
    controller.start()
    yield SmtpServer(port, mailbox, client_context, password)
    controller.stop()


# --- Telegram Bot API ------------------------------------------------------------------------


@dataclass
class BotApi:
    """What the fake Bot API received, and what it answers next (FIFO; `ok` when empty)."""

    base_url: str
    token: str
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    answers: list[tuple[int, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer_next(self, status: int, body: dict[str, Any] | bytes) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        with self.lock:
            self.answers.append((status, raw))

    @property
    def texts(self) -> list[str]:
        with self.lock:
            return [str(body.get("text")) for _, body in self.requests]


def _bot_handler(api: BotApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return None  # the default writes the path, token included, to stderr

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = {"unparsed": raw.decode(errors="replace")}
            with api.lock:
                api.requests.append((self.path, body))
                answer = api.answers.pop(0) if api.answers else None
            if answer is None:
                if self.path != f"/bot{api.token}/sendMessage":
                    answer = (404, b'{"ok":false,"error_code":404,"description":"Not Found"}')
                else:
                    message = {"message_id": len(api.requests), "date": 0, "text": body["text"]}
                    answer = (200, json.dumps({"ok": True, "result": message}).encode())
            status, payload = answer
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@pytest.fixture
def bot_api() -> Iterator[BotApi]:
    token = f"{int.from_bytes(os.urandom(3), 'big')}:AA{os.urandom(16).hex()}"
    api = BotApi(base_url="", token=token)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _bot_handler(api))
    host, port = server.server_address[:2]
    api.base_url = f"http://{host!s}:{port}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield api
    server.shutdown()
    server.server_close()
    thread.join(5)
