"""What the Prefect flow needs from Prefect at run time, apart from the pipeline itself:

- the working directory of a deployed run: the pull step
  ``dcrs.prefect_runtime.set_working_directory_to_project`` moves a flow run into the dbt
  project's folder on the worker's machine (``DCRS_PROJECT_DIR``, else the checkout the
  package is installed from), so ``prefect.yaml`` bakes in no path;
- the inbox: the ``inbox`` parameter, else ``DCRS_INBOX`` in the worker's environment;
- the SMTP settings from a Prefect Secret block, when one is named (a flow parameter, or
  ``DCRS_SMTP_SECRET_BLOCK``): its JSON value becomes the ``DCRS_SMTP_*`` /
  ``DCRS_ALERT_*`` settings that :class:`dcrs.alerts.SmtpSettings` reads from the
  environment, for the run;
- one run at a time per warehouse: a Prefect global concurrency limit named after the
  warehouse's path, that a second run waits for.

Imported only by the flow and the set-up command (it imports Prefect).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from dcrs import alerts, settings

INBOX_VARIABLE = "DCRS_INBOX"
SECRET_BLOCK_VARIABLE = "DCRS_SMTP_SECRET_BLOCK"

# The keys of the Secret's JSON value, and the settings they stand for.
SECRET_KEYS: dict[str, str] = {
    "host": "DCRS_SMTP_HOST",
    "port": "DCRS_SMTP_PORT",
    "user": "DCRS_SMTP_USER",
    "password": "DCRS_SMTP_PASSWORD",
    "from": "DCRS_ALERT_FROM",
    "to": "DCRS_ALERT_TO",
    "starttls": "DCRS_SMTP_STARTTLS",
    "allow_plaintext": "DCRS_SMTP_ALLOW_PLAINTEXT",
}
# A Secret, when named, is the whole SMTP configuration: these settings are taken from it
# alone, never half from the Secret and half from the environment.
SMTP_VARIABLES = frozenset(SECRET_KEYS.values())

WAREHOUSE_LIMIT_PREFIX = "dcrs-warehouse-"


class PrefectSettingsError(Exception):
    """A setting the deployed flow needs is missing or unusable."""


# ---------------------------------------------------------------------------------------
# The working directory and the inbox


def set_working_directory_to_project() -> dict[str, str]:
    """A ``prefect.yaml`` pull step: run the flow from the dbt project's folder on the
    worker's machine (``DCRS_PROJECT_DIR``, else the checkout this package runs from)."""
    folder = settings.project_dir()
    os.chdir(folder)
    return {"directory": str(folder)}


def inbox_folder(inbox: Path | None, environ: Mapping[str, str] = os.environ) -> Path:
    """The inbox a run reads: the parameter, else ``DCRS_INBOX``; there is no default."""
    if inbox is not None and str(inbox).strip():
        return Path(inbox)
    configured = environ.get(INBOX_VARIABLE, "").strip()
    if configured:
        return Path(configured)
    raise PrefectSettingsError(
        f"no inbox: set {INBOX_VARIABLE} in the worker's environment to the folder where "
        "the DCRS exports arrive, or give the deployment's `inbox` parameter"
    )


# ---------------------------------------------------------------------------------------
# SMTP settings from a Secret block


def secret_block_name(parameter: str | None, environ: Mapping[str, str] = os.environ) -> str | None:
    """The Secret block named for the SMTP settings: the parameter, else
    ``DCRS_SMTP_SECRET_BLOCK``; ``None`` means the environment's settings are used."""
    for value in (parameter, environ.get(SECRET_BLOCK_VARIABLE)):
        if value and value.strip():
            return value.strip()
    return None


def smtp_environment(
    secret_value: Any, environ: Mapping[str, str] = os.environ, block: str = "the Secret"
) -> dict[str, str]:
    """The environment with the SMTP settings taken from a Secret's value.

    The value is a JSON object (or its text) with the keys of ``SECRET_KEYS`` (``host``,
    ``port``, ``user``, ``password``, ``from``, ``to``, ``starttls``, ``allow_plaintext``);
    ``to`` may be a list. A key spelled as the setting itself (``DCRS_...``) is taken as
    it is. The ``DCRS_SMTP_*`` / ``DCRS_ALERT_*`` settings of ``environ`` are dropped:
    the Secret alone says how to send. Pass the result to
    ``alerts.SmtpSettings.from_environment``.
    """
    if isinstance(secret_value, str):
        try:
            secret_value = json.loads(secret_value)
        except json.JSONDecodeError as error:
            raise PrefectSettingsError(
                f"{block} does not hold JSON: {error.msg} (line {error.lineno})"
            ) from None
    if not isinstance(secret_value, Mapping):
        raise PrefectSettingsError(
            f"{block} must hold a JSON object with the keys {', '.join(SECRET_KEYS)}"
        )
    unknown = sorted(
        str(key) for key in secret_value if key not in SECRET_KEYS and not _is_setting(key)
    )
    if unknown:
        raise PrefectSettingsError(
            f"{block} holds unknown keys {', '.join(unknown)}; "
            f"use {', '.join(SECRET_KEYS)} (or a DCRS_ setting's name)"
        )
    environment = {name: value for name, value in environ.items() if name not in SMTP_VARIABLES}
    for key, value in secret_value.items():
        if value is None:
            continue
        environment[SECRET_KEYS.get(key, key)] = _setting_text(value)
    return environment


def _is_setting(key: object) -> bool:
    return isinstance(key, str) and key.startswith("DCRS_")


def _setting_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return str(value)


def load_smtp_environment(
    block_name: str, environ: Mapping[str, str] = os.environ
) -> dict[str, str]:
    """Read the Secret block ``block_name`` from the Prefect server and return the
    environment its SMTP settings make (see ``smtp_environment``), checked: unusable
    settings raise ``alerts.AlertConfigError`` now, before the run does any work."""
    from prefect.blocks.system import Secret

    try:
        secret = Secret.load(block_name)
    except ValueError as error:
        raise PrefectSettingsError(f"no Secret block named {block_name!r}: {error}") from None
    environment = smtp_environment(secret.get(), environ, block=f"Secret block {block_name!r}")
    alerts.SmtpSettings.from_environment(environment)
    return environment


@contextlib.contextmanager
def environment_applied(environment: Mapping[str, str]) -> Iterator[None]:
    """Make ``os.environ`` hold ``environment``'s SMTP settings for the block's duration
    (the pipeline reads its settings from the environment), then put it back."""
    names = SMTP_VARIABLES | {name for name in environment if _is_setting(name)}
    saved = {name: os.environ.get(name) for name in names}
    try:
        _set_variables({name: environment.get(name) for name in names})
        yield
    finally:
        _set_variables(saved)


def _set_variables(values: Mapping[str, str | None]) -> None:
    # only these names change: other threads of the flow run read the environment too
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


# ---------------------------------------------------------------------------------------
# One run at a time per warehouse


def warehouse_limit_name(warehouse: Path) -> str:
    """The global concurrency limit of a warehouse: named by a digest of its absolute path
    (a limit's name cannot hold ``/``), with the file's name for people reading the UI."""
    path = str(Path(warehouse).resolve())
    digest = hashlib.sha256(path.encode("utf-8")).hexdigest()[:12]
    stem = "".join(char if char.isalnum() or char in "-_." else "-" for char in Path(path).name)
    return f"{WAREHOUSE_LIMIT_PREFIX}{stem}-{digest}"


@contextlib.contextmanager
def one_run_per_warehouse(
    warehouse: Path, wait_seconds: float, echo: Callable[[str], None] = print
) -> Iterator[str]:
    """Hold the warehouse's slot (a global concurrency limit of 1, created on first use)
    for the block's duration; a second run waits for it, up to ``wait_seconds``, and then
    fails with ``TimeoutError``. Yields the limit's name."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.concurrency.sync import concurrency
    from prefect.exceptions import ObjectAlreadyExists

    name = warehouse_limit_name(warehouse)
    with get_client(sync_client=True) as client:
        # created on first use (a second run racing to create it finds it made)
        with contextlib.suppress(ObjectAlreadyExists):
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
        limit = client.read_global_concurrency_limit_by_name(name)
    if limit.active_slots >= limit.limit:
        echo(
            f"Another run holds {warehouse} (concurrency limit {name}): waiting for it to "
            f"end (up to {wait_seconds:g} s)"
        )
    with concurrency(name, occupy=1, timeout_seconds=wait_seconds, strict=True):
        yield name
