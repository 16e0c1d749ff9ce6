"""The project's Prefect collection: a notification block that sends email through an SMTP
server, and a fix for the worker's stop signal.

Prefect imports this module in every Prefect process of the environment the project is
installed in (the ``prefect.collections`` entry point in ``pyproject.toml``): the server
needs the block's class to send the notifications of its automations, whether or not a
worker runs. Start the server from the project's environment (``.venv/bin/prefect server
start``) and it has it; a server started from another environment cannot load the block
("No block class found for slug 'dcrs-smtp-email'"), and its automations fail to notify.

Keep the imports light: every Prefect command of the environment imports this module.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any, Literal

from prefect.blocks.notifications import AbstractAppriseNotificationBlock
from pydantic import Field, SecretStr

BLOCK_TYPE_SLUG = "dcrs-smtp-email"

# The connection's security: implicit TLS (port 465), STARTTLS, or none (a relay on the
# same machine or network that takes mail without a login).
Security = Literal["ssl", "starttls", "none"]


class SmtpEmail(AbstractAppriseNotificationBlock):
    """Send a notification as an email through an SMTP server (Apprise's email plugin).

    Prefect's open-source server has no email notification block of its own; an
    automation's "send a notification" action can use this one.
    """

    _block_type_name = "DCRS SMTP Email"
    _block_type_slug = BLOCK_TYPE_SLUG
    _description = (
        "Sends notifications as emails through an SMTP server (STARTTLS, implicit TLS or "
        "none), for the automations of the DCRS pipeline."
    )

    smtp_host: str = Field(description="The SMTP server's host name or address.")
    smtp_port: int = Field(default=25, ge=1, le=65535, description="The SMTP server's port.")
    security: Security = Field(
        default="starttls",
        description="ssl (TLS from the start, usually port 465), starttls, or none.",
    )
    username: str | None = Field(default=None, description="Login name, if the server needs one.")
    password: SecretStr | None = Field(default=None, description="Login password.")
    from_address: str = Field(description="The sender's address.")
    to_addresses: list[str] = Field(min_length=1, description="The recipients' addresses.")

    def block_initialization(self) -> None:
        from apprise import Apprise, AppriseAsset
        from apprise.plugins.email import NotifyEmail

        login: dict[str, Any] = {}
        if self.username:
            login["user"] = self.username
            if self.password is not None:
                login["password"] = self.password.get_secret_value()
        email = NotifyEmail(
            host=self.smtp_host,
            smtp_host=self.smtp_host,
            port=self.smtp_port,
            secure=self.security != "none",
            secure_mode="insecure" if self.security == "none" else self.security,
            from_addr=self.from_address,
            targets=list(self.to_addresses),
            format="text",
            **login,
        )
        self._apprise_client = Apprise(asset=AppriseAsset(app_id="DCRS pipeline"))
        self._apprise_client.add(email)


def _let_sigterm_stop_the_worker() -> None:
    """``prefect worker start`` stops on SIGTERM by sending itself SIGINT and handing it
    to the SIGINT handler it found when it started. A worker started with SIGINT ignored
    (what a shell script's ``prefect worker start &`` does) then ignores SIGTERM too.
    The worker command imports this module before it sets up its signals, from inside the
    task that runs the command: give SIGINT a handler that cancels that task, as
    ``asyncio.run`` does on a first Ctrl-C, and the worker shuts down in order."""
    import asyncio

    if threading.current_thread() is not threading.main_thread():
        return
    words = [word for word in sys.argv[1:] if not word.startswith("-")]
    if words[:2] != ["worker", "start"]:
        return
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    command = asyncio.current_task()
    if command is None:
        return

    def stop_the_command(signum: int, frame: Any) -> None:
        loop.call_soon_threadsafe(command.cancel)

    signal.signal(signal.SIGINT, stop_the_command)


_let_sigterm_stop_the_worker()
