"""One release: the warehouse, its outputs and its alert change together, or not at all,
whatever moment a run is killed at; the next `dcrs` command of any kind finishes or undoes
what it left. Alerts wait in an outbox until delivered.

The kills are real (``os._exit`` in the process doing the release, so no ``finally`` runs);
the recovery is the real `dcrs` command; the SMTP server is real, on loopback.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import DCRS, ROOT, SAMPLE_EXPORT, outputs_of
from smtp_server import running_smtp_server

from dcrs import alerts as alerts_module
from dcrs import outbox as outbox_module
from dcrs import release

# Runs the real CLI, killed just before the release begins: a complete build folder is
# left, not yet committed.
KILLED_BEFORE_RELEASE = """
import os, sys
from dcrs import alerts as alerts_module
from dcrs import outbox as outbox_module
from dcrs import release
from dcrs.cli import app

def killed(*arguments, **keywords):
    os._exit(137)

release.release = killed
sys.argv = ["dcrs", *sys.argv[1:]]
app()
"""


def dcrs(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DCRS), *arguments],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env or clean_environment(),
        check=False,
    )


def clean_environment(**settings: str) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DCRS_")}
    return environment | settings


def smtp_environment(port: int) -> dict[str, str]:
    return clean_environment(
        DCRS_SMTP_HOST="127.0.0.1",
        DCRS_SMTP_PORT=str(port),
        DCRS_ALERT_FROM="dcrs@example.org",
        DCRS_ALERT_TO="manager@example.org",
    )


def september_export(folder: Path) -> Path:
    """The sample again, as the next month's extract."""
    export = folder / "kc-2010-09-30"
    shutil.copytree(SAMPLE_EXPORT, export)
    manifest = json.loads((export / "manifest.json").read_text())
    manifest["extract_date"] = "2010-09-30"
    (export / "manifest.json").write_text(json.dumps(manifest))
    return export


def published_extracts(warehouse: Path) -> dict[str, str | None]:
    """The latest extract each published part names."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (latest,) = con.execute(
            "select max(extract_date)::varchar from history.loaded_extracts"
        ).fetchone()
    outputs = outputs_of(warehouse)
    manifest = json.loads((outputs / "parquet" / "manifest.json").read_text())
    named = {"warehouse": latest, "parquet": max(manifest["extract_dates"])}
    for report in ("report.html", "report-published.html"):
        title = re.search(r"extract (\d+ \w+ \d{4})", (outputs / report).read_text())
        named[report] = (
            dt.datetime.strptime(title.group(1), "%d %B %Y").date().isoformat() if title else None
        )
    return named


def leftovers(warehouse: Path) -> list[str]:
    """Anything a release leaves when it is complete that it should not."""
    return sorted(
        path.name
        for path in warehouse.parent.iterdir()
        if path.name.startswith(".") or path.name.endswith(".old")
    )


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    """A warehouse holding August, and September's run killed just before its release:
    a complete build folder (with an alert in its outbox), not yet committed."""
    folder = tmp_path_factory.mktemp("interrupted")
    warehouse = folder / "dcrs.duckdb"
    with running_smtp_server() as server:
        environment = smtp_environment(server.port)
        august = dcrs("run", "--warehouse", str(warehouse), env=environment)
        assert august.returncode == 0, august.stdout + august.stderr
        assert len(server.messages) == 1
        september = september_export(folder / "inbox")
        killed = subprocess.run(
            [sys.executable, "-c", KILLED_BEFORE_RELEASE, "run", "--export", str(september)]
            + ["--warehouse", str(warehouse)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=environment,
            check=False,
        )
    assert killed.returncode == 137, killed.stdout + killed.stderr
    build = folder / ".dcrs.duckdb.build"
    assert len(list((build / "outbox").iterdir())) == 1
    return folder


def copy_of(interrupted: Path, target: Path) -> Path:
    shutil.copytree(interrupted, target, symlinks=True)
    return target / "dcrs.duckdb"


def test_a_run_publishes_its_outputs_in_the_folder_beside_the_warehouse(sample_warehouse):
    outputs = outputs_of(sample_warehouse)
    assert sorted(path.name for path in outputs.iterdir()) == [
        "data_docs",
        "parquet",
        "report-published.html",
        "report.html",
    ]
    assert published_extracts(sample_warehouse) == dict.fromkeys(
        ["warehouse", "parquet", "report.html", "report-published.html"], "2010-08-31"
    )
    assert leftovers(sample_warehouse) == []


def test_a_kill_before_the_release_changes_nothing_and_its_files_go(interrupted, tmp_path):
    warehouse = copy_of(interrupted, tmp_path / "copy")
    result = dcrs("report", "--warehouse", str(warehouse), "--out", str(tmp_path / "r.html"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(published_extracts(warehouse).values()) == {"2010-08-31"}
    assert leftovers(warehouse) == []  # the build folder, and its temporary files, are gone
    assert list((tmp_path / "copy" / "dcrs.duckdb.outbox").iterdir()) == []  # August's was sent


def test_a_kill_at_any_step_of_the_release_leaves_one_whole_release(interrupted, tmp_path):
    """Kill the release before each of its file operations in turn: the next command
    finishes it (once the release is committed) or undoes it (before), so that the
    warehouse, the Parquet manifest and both reports name the same extract, the alert is
    in the outbox exactly when September was published, and nothing is left over."""
    outcomes = {}
    for kill_at in range(1, 30):
        work = tmp_path / f"kill-{kill_at}"
        warehouse = copy_of(interrupted, work)
        killed = subprocess.run(
            [sys.executable, "-c", KILLER_OF_RELEASE, str(warehouse)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=clean_environment(KILL_AT=str(kill_at)),
            check=False,
        )
        if killed.returncode == 0:  # the release has fewer operations: it completed
            break
        assert killed.returncode == 137, killed.stdout + killed.stderr
        # the next command of any kind first finishes or undoes the release
        result = dcrs("report", "--warehouse", str(warehouse), "--out", str(work / "r.html"))
        assert result.returncode == 0, result.stdout + result.stderr
        named = set(published_extracts(warehouse).values())
        assert len(named) == 1, (kill_at, published_extracts(warehouse))
        (extract,) = named
        outbox = work / "dcrs.duckdb.outbox"
        alerts = list(outbox.iterdir()) if outbox.exists() else []
        assert len(alerts) == (1 if extract == "2010-09-30" else 0), (kill_at, alerts)
        assert leftovers(warehouse) == [], kill_at
        outcomes[kill_at] = extract
    assert kill_at > 5, "the release was killed at every one of its steps"
    # before the release is committed it is undone; after, it is finished
    assert outcomes[1] == "2010-08-31"
    assert outcomes[max(outcomes)] == "2010-09-30"
    changes = [
        kill_at for kill_at in sorted(outcomes)[1:] if outcomes[kill_at] != outcomes[kill_at - 1]
    ]
    assert len(changes) == 1, outcomes  # one point of no return


# Releases the interrupted build folder (as `dcrs run` would have), killed at KILL_AT.
KILLER_OF_RELEASE = """
import os, shutil, sys
from pathlib import Path
from dcrs import alerts as alerts_module
from dcrs import outbox as outbox_module
from dcrs import release

kill_at = int(os.environ["KILL_AT"])
calls = 0
real = {"replace": os.replace, "rmtree": shutil.rmtree}

def counted(name):
    def operation(*arguments, **keywords):
        global calls
        calls += 1
        if calls == kill_at:
            os._exit(137)
        return real[name](*arguments, **keywords)
    return operation

os.replace = counted("replace")
shutil.rmtree = counted("rmtree")
warehouse = Path(sys.argv[1])
release.release(release.build_folder(warehouse), warehouse, "KC", "2010-09-30")
"""


def test_run_inbox_loads_an_export_whose_release_was_undone(interrupted, tmp_path):
    warehouse = copy_of(interrupted, tmp_path / "copy")
    inbox = tmp_path / "copy" / "inbox"
    result = dcrs("run-inbox", "--inbox", str(inbox), "--warehouse", str(warehouse))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 published" in result.stdout
    assert set(published_extracts(warehouse).values()) == {"2010-09-30"}


def test_an_alert_left_in_the_outbox_is_delivered_by_the_next_run(interrupted, tmp_path):
    """A crash between publishing and sending: the next run, even with nothing new to
    load, sends the alert that waited, and removes it from the outbox."""
    warehouse = copy_of(interrupted, tmp_path / "copy")
    released = subprocess.run(
        [sys.executable, "-c", KILLER_OF_RELEASE, str(warehouse)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=clean_environment(KILL_AT="1000"),  # released whole; the process ends unsent
        check=False,
    )
    assert released.returncode == 0, released.stdout + released.stderr
    outbox = tmp_path / "copy" / "dcrs.duckdb.outbox"
    assert len(list(outbox.iterdir())) == 1
    inbox = tmp_path / "copy" / "inbox"
    with running_smtp_server() as server:
        result = dcrs(
            "run-inbox",
            "--inbox",
            str(inbox),
            "--warehouse",
            str(warehouse),
            env=smtp_environment(server.port),
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert len(server.messages) == 1
        assert "2010" in server.messages[0]["Subject"]
    assert "Already in the warehouse, skipped" in result.stdout
    assert "alert sent to manager@example.org" in result.stdout
    assert list(outbox.iterdir()) == []


def test_an_undelivered_alert_waits_and_goes_with_the_next_run(tmp_path):
    """The mail server is down: the run publishes, exits 4 and keeps the alert; the next
    run (the server back; here a scheduled run-inbox with nothing new) sends it."""
    warehouse = tmp_path / "dcrs.duckdb"
    with running_smtp_server() as server:
        port = server.port
    down = dcrs("run", "--warehouse", str(warehouse), env=smtp_environment(port))
    assert down.returncode == 4, down.stdout + down.stderr
    assert "waits in" in down.stderr
    outbox = tmp_path / "dcrs.duckdb.outbox"
    assert len(list(outbox.iterdir())) == 1
    (tmp_path / "inbox").mkdir()
    with running_smtp_server() as server:
        again = dcrs(
            "run-inbox",
            "--inbox",
            str(tmp_path / "inbox"),
            "--warehouse",
            str(warehouse),
            env=smtp_environment(server.port),
        )
        assert again.returncode == 0, again.stdout + again.stderr
        assert len(server.messages) == 1
        assert "data capture" in server.messages[0]["Subject"]
    assert list(outbox.iterdir()) == []


def current_umask() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def test_row_level_files_are_readable_by_their_owner_only(interrupted):
    """Everything a run writes that can hold a record (the private store, its log,
    DuckDB's side files, the loader's temporary copies, all of the unreleased build
    folder) has no permission for group or others, whatever the user's umask; the
    published aggregates keep the permissions the user's umask gives."""
    umask = current_umask()
    assert umask & 0o077 != 0o077, "the test needs a umask that lets others read"
    build = interrupted / ".dcrs.duckdb.build"
    # Great Expectations copies its page assets (CSS, fonts, images: no data) with the
    # package's own permissions; everything else is the run's
    assets = build / "outputs" / "data_docs" / "static"
    modes = {
        path.relative_to(build): path.stat().st_mode & 0o777
        for path in build.rglob("*")
        if not path.is_relative_to(assets)
    }
    assert any(path.name == "warehouse.private.duckdb" for path in modes)
    assert {path: mode for path, mode in modes.items() if mode & 0o077} == {}
    assert (interrupted / "dcrs.private.duckdb").stat().st_mode & 0o777 == 0o600
    assert (interrupted / "dcrs.duckdb").stat().st_mode & 0o777 == 0o666 & ~umask
    outputs = interrupted / "dcrs"
    assert (outputs / "report.html").stat().st_mode & 0o777 == 0o666 & ~umask
    assert (outputs / "parquet").stat().st_mode & 0o777 == 0o777 & ~umask


@pytest.mark.fast
@pytest.mark.skipif(os.name != "posix", reason="POSIX groups")
def test_the_data_leads_group_may_read_the_private_store(tmp_path, monkeypatch):
    import grp

    group = grp.getgrgid(os.getgid())
    monkeypatch.setenv("DCRS_PRIVATE_GROUP", group.gr_name)
    folder = tmp_path / ".dcrs.duckdb.build"
    (folder / "outputs").mkdir(parents=True)
    for name in ("warehouse.duckdb", "warehouse.private.duckdb"):
        duckdb.connect(str(folder / name)).close()
        (folder / name).chmod(0o600)
    release.commit(folder, "KC", "2010-08-31", 0o022)
    private = (folder / "warehouse.private.duckdb").stat()
    assert (private.st_mode & 0o777, private.st_gid) == (0o640, group.gr_gid)
    assert (folder / "warehouse.duckdb").stat().st_mode & 0o777 == 0o644
    assert (folder / "RELEASE").exists()


# Runs the real CLI, killed in the load just after a file was copied for reading (a
# Windows-1252 file is transcoded to UTF-8 first).
KILLED_IN_THE_LOAD = """
import os, sys
from dcrs import load
from dcrs.cli import app

original = load._check_columns

def killed_at_goals(path, *arguments):
    if path.name == "goals.csv":
        os._exit(137)
    return original(path, *arguments)

load._check_columns = killed_at_goals
sys.argv = ["dcrs", *sys.argv[1:]]
app()
"""


def test_a_killed_load_leaves_its_copies_only_in_the_build_folder(tmp_path):
    """The loader's temporary copy of a file holds every value of it: it is made inside
    the build folder (never the system's temporary folder), and the next command of any
    kind removes it."""
    export = tmp_path / "export"
    shutil.copytree(SAMPLE_EXPORT, export)
    goals = (export / "goals.csv").read_text(encoding="utf-8")
    (export / "goals.csv").write_bytes(goals.replace(" - ", " \u2013 ").encode("cp1252"))
    system_temporary = tmp_path / "system-temporary"
    system_temporary.mkdir()
    warehouse = tmp_path / "w" / "dcrs.duckdb"
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_IN_THE_LOAD, "run", "--export", str(export)]
        + ["--warehouse", str(warehouse)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=clean_environment(TMPDIR=str(system_temporary)),
        check=False,
    )
    assert killed.returncode == 137, killed.stdout + killed.stderr
    copies = list((tmp_path / "w" / ".dcrs.duckdb.build" / "tmp").rglob("goals.csv"))
    assert len(copies) == 1 and "\u2013" in copies[0].read_text(encoding="utf-8")
    assert list(system_temporary.iterdir()) == []
    result = dcrs("report", "--warehouse", str(warehouse), "--out", str(tmp_path / "r.html"))
    assert result.returncode == 2  # no warehouse yet to report on
    assert list((tmp_path / "w").rglob("goals.csv")) == []
    assert leftovers(warehouse) == []


# Sends the outbox's alerts (KILL_AT: "before" sending, or "after" the server took it and
# before the file is removed), killed there.
KILLED_IN_THE_ALERT = """
import os, sys
from pathlib import Path
from dcrs import alerts, outbox

kill_at = os.environ["KILL_AT"]
send = alerts.send

def killed_send(*arguments, **keywords):
    if kill_at == "before":
        os._exit(137)
    send(*arguments, **keywords)
    os._exit(137)

alerts.send = killed_send
outbox.deliver(Path(sys.argv[1]))
"""


@pytest.mark.fast
@pytest.mark.parametrize(("kill_at", "received"), [("before", 1), ("after", 2)])
def test_a_kill_while_alerting_delays_or_repeats_an_alert_never_loses_it(
    tmp_path, kill_at, received
):
    folder = tmp_path / "dcrs.duckdb.outbox"
    message = alerts_module.compose_failure_alert("/exports/kc", "goals.csv: missing", "w")
    outbox_module.put(folder, message, "failure")
    with running_smtp_server() as server:
        environment = smtp_environment(server.port) | {"KILL_AT": kill_at}
        killed = subprocess.run(
            [sys.executable, "-c", KILLED_IN_THE_ALERT, str(folder)],
            capture_output=True,
            text=True,
            env=environment,
            check=False,
        )
        assert killed.returncode == 137, killed.stdout + killed.stderr
        assert len(outbox_module.pending(folder)) == 1
        # the next command sends what waits
        again = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from pathlib import Path; "
                "from dcrs import outbox; outbox.deliver(Path(sys.argv[1]))",
                str(folder),
            ],
            capture_output=True,
            text=True,
            env=smtp_environment(server.port),
            check=False,
        )
        assert again.returncode == 0, again.stdout + again.stderr
        assert len(server.messages) == received
    assert outbox_module.pending(folder) == []
