"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on (at the moment of asking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


@dataclass
class Delivery:
    """One message as the server received it."""

    mail_from: str
    recipients: list[str]
    message: EmailMessage
    login: str | None  # the user name the client logged in with, if it did


@dataclass
class RecordingHandler:
    """An aiosmtpd handler that stores every message and can refuse chosen recipients."""

    refused_recipients: set[str] = field(default_factory=set)
    deliveries: list[Delivery] = field(default_factory=list)

    async def handle_RCPT(
        self,
        server: Any,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.refused_recipients:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        credentials = session.auth_data if session.authenticated else None
        self.deliveries.append(
            Delivery(
                mail_from=envelope.mail_from or "",
                recipients=list(envelope.rcpt_tos),
                message=message,
                login=credentials.login.decode() if credentials is not None else None,
            )
        )
        return "250 Message accepted for delivery"


@dataclass
class PasswordAuthenticator:
    """Accepts exactly one user name and password (AUTH PLAIN or LOGIN)."""

    user: str
    password: str

    def __call__(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        accepted = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.user.encode()
            and auth_data.password == self.password.encode()
        )
        if not accepted:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=auth_data)


@dataclass
class SmtpServer:
    """A running test server: where it listens and what it has received."""

    host: str
    port: int
    handler: RecordingHandler

    @property
    def deliveries(self) -> list[Delivery]:
        return self.handler.deliveries

    @property
    def messages(self) -> list[EmailMessage]:
        return [delivery.message for delivery in self.handler.deliveries]


@contextmanager
def running_smtp_server(
    authenticator: PasswordAuthenticator | None = None,
    refused_recipients: set[str] | None = None,
) -> Iterator[SmtpServer]:
    """Run an aiosmtpd server on a free loopback port until the block ends.

    With an ``authenticator`` the server offers AUTH without TLS (loopback only) and
    requires a login before it accepts mail.
    """
    handler = RecordingHandler(refused_recipients=set(refused_recipients or ()))
    options: dict[str, Any] = {}
    if authenticator is not None:
        options = {
            "authenticator": authenticator,
            "auth_required": True,
            "auth_require_tls": False,
        }
    controller = Controller(handler, hostname=LOOPBACK, port=free_port(), **options)
    controller.start()
    try:
        yield SmtpServer(host=LOOPBACK, port=controller.port, handler=handler)
    finally:
        controller.stop()
