"""A throwaway PostgreSQL server for tests that stop and start it.

The shared server on 127.0.0.1:5432 is used by other tests and is never touched: a
:class:`Cluster` is a new cluster made by the installed ``initdb`` in a temporary folder,
served on a free port (TCP on 127.0.0.1, its socket in the folder), trust authentication,
``fsync`` off. ``initdb`` and ``pg_ctl`` refuse to run as root, so as root they run as the
``postgres`` user (``runuser``, else ``su``), which then owns the folder. A test that is
killed leaves its server running: ``pg_ctl -D /tmp/advocacy-pg-*/data stop`` ends it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SERVER_USER = "postgres"


class ClusterError(RuntimeError):
    """The cluster could not be created or started (the message says which command)."""


def bin_dir() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl``: ``$PG_BIN``, the newest Debian version, or
    the ``PATH``; None when there is none."""
    configured = os.environ.get("PG_BIN")
    candidates = [configured] if configured else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True)
    found = shutil.which("initdb")
    candidates += [str(Path(found).parent)] if found else []
    for folder in candidates:
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cluster:
    """One PostgreSQL cluster in ``folder``, on ``port``; :meth:`create` makes it."""

    def __init__(self, folder: Path, port: int, binaries: Path) -> None:
        self.folder = folder
        self.port = port
        self.binaries = binaries

    @classmethod
    def create(cls, binaries: Path) -> Cluster:
        """``initdb`` in a new temporary folder (owned by ``postgres`` when run as root)."""
        folder = Path(tempfile.mkdtemp(prefix="advocacy-pg-"))
        if os.geteuid() == 0:
            account = pwd.getpwnam(SERVER_USER)
            os.chown(folder, account.pw_uid, account.pw_gid)
        cluster = cls(folder, free_port(), binaries)
        cluster._run(
            "initdb", "-D", str(cluster.data), "-U", "postgres", "-A", "trust",
            "--no-sync", "-E", "UTF8", "--locale=C",
        )  # fmt: skip
        return cluster

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c full_page_writes=off -c max_connections=60"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
            "-o", options, "start",
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server the way an operator's restart does (``-m fast``: sessions are
        ended, connections dropped)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def destroy(self) -> None:
        """Stop the server if it runs, and remove the folder."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(ClusterError):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.binaries / program), *args]
        if os.geteuid() == 0 and shutil.which("runuser"):
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        elif os.geteuid() == 0:
            command = ["su", SERVER_USER, "-s", "/bin/sh", "-c", shlex.join(command)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise ClusterError(
                f"{' '.join(command)} exited with {done.returncode}:"
                f" {done.stderr.strip()[-2000:]}\n{log}"
            )


def _version(folder: str) -> float:
    try:
        return float(Path(folder).parent.name)
    except ValueError:
        return 0.0
