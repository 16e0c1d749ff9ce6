"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for tests."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

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
    # whether each login the server received came over TLS
    logins_over_tls: list[bool] = field(default_factory=list)

    def __call__(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        self.logins_over_tls.append(server.transport.get_extra_info("sslcontext") is not None)
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
    controller: Any = None

    @property
    def deliveries(self) -> list[Delivery]:
        return self.handler.deliveries

    @property
    def messages(self) -> list[EmailMessage]:
        return [delivery.message for delivery in self.handler.deliveries]


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, written into ``folder`` (PEM files)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, LOOPBACK)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(LOOPBACK))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate_file = folder / "smtp-certificate.pem"
    key_file = folder / "smtp-key.pem"
    certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certificate_file, key_file


@contextmanager
def running_smtp_server(
    authenticator: PasswordAuthenticator | None = None,
    refused_recipients: set[str] | None = None,
    certificate: tuple[Path, Path] | None = None,
    implicit_tls_port: int | None = None,
) -> Iterator[SmtpServer]:
    """Run an aiosmtpd server on a free loopback port until the block ends.

    With an ``authenticator`` the server requires a login before it accepts mail; it
    offers AUTH without TLS (loopback only) unless a ``certificate`` (certificate and
    key files) is given: it then offers STARTTLS and takes a login only over TLS; with an
    ``implicit_tls_port`` too, it listens there with TLS from the start instead.
    """
    handler = RecordingHandler(refused_recipients=set(refused_recipients or ()))
    options: dict[str, Any] = {}
    if authenticator is not None:
        options = {
            "authenticator": authenticator,
            "auth_required": True,
            # aiosmtpd counts only STARTTLS as TLS here; implicit TLS is TLS throughout
            "auth_require_tls": certificate is not None and implicit_tls_port is None,
        }
    if certificate is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*certificate)
        if implicit_tls_port is None:
            options["tls_context"] = context
        else:
            options["ssl_context"] = context
    port = implicit_tls_port or free_port()
    controller = Controller(handler, hostname=LOOPBACK, port=port, **options)
    controller.start()
    try:
        yield SmtpServer(host=LOOPBACK, port=controller.port, handler=handler)
    finally:
        controller.stop()
