"""Real servers for tests, started on free loopback ports and stopped by the test that started them.

Debian's redis-server and PostgreSQL (installed by `make test`'s set-up, never mocked). PostgreSQL refuses to
run as root, so as root it runs as Debian's `postgres` user in a temporary data folder that user owns.
A missing binary is a set-up failure (an error), not a skip: CI must run these tests.
"""

from __future__ import annotations

import glob
import http.server
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    """A port free on 127.0.0.1 now (the server binds it a moment later: fine on a test machine)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerSetupError(RuntimeError):
    """A server the tests need is not installed or did not start: fix the machine's set-up (`make test`)."""


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerSetupError(f"{what} exited with {proc.returncode} before it listened on {port}")
        with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise ServerSetupError(f"{what} did not listen on 127.0.0.1:{port} within {timeout_s:.0f} s")


def _stop(proc: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------- Redis


def redis_binary() -> str:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
    )
    if not found:
        raise ServerSetupError(
            "redis-server is not installed: run `make test` (it installs Debian's redis-server)"
        )
    return found


@dataclass
class RedisServer:
    """One redis-server on 127.0.0.1:port, no persistence. `restart()` keeps the port (a broker restart)."""

    port: int
    folder: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = [redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.folder), "--protected-mode", "no"]  # fmt: skip
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_port(self.port, self.proc, "redis-server")

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None

    def restart(self, down_s: float = 0.0) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    with tempfile.TemporaryDirectory(prefix="runbook-redis-") as folder:
        server = RedisServer(port=free_port(), folder=Path(folder))
        server.start()
        try:
            yield server
        finally:
            server.stop()


# ---------------------------------------------------------------- PostgreSQL


def postgres_bindir() -> Path:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(candidate, "postgres")):
            return Path(candidate)
    raise ServerSetupError("PostgreSQL is not installed: run `make test` (it installs Debian's postgresql)")


def _as_postgres() -> dict[str, object]:
    """Popen arguments that drop root to Debian's postgres user (PostgreSQL refuses to run as root)."""
    if os.geteuid() != 0:
        return {}
    try:
        user = pwd.getpwnam("postgres")
    except KeyError as exc:
        raise ServerSetupError("no `postgres` user: install Debian's postgresql (`make test`)") from exc
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


@dataclass
class PostgresServer:
    """One PostgreSQL cluster on 127.0.0.1:port, trust authentication, in a throwaway data folder."""

    port: int
    folder: Path
    proc: subprocess.Popen[bytes] | None = None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def start(self) -> None:
        bindir = postgres_bindir()
        data = self.folder / "data"
        drop = _as_postgres()
        if not data.exists():
            data.mkdir(parents=True)
            if drop:
                os.chown(self.folder, drop["user"], drop["group"])  # type: ignore[arg-type]
                os.chown(data, drop["user"], drop["group"])  # type: ignore[arg-type]
            subprocess.run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                            "--no-sync", "-E", "UTF8"], check=True, capture_output=True, **drop)  # type: ignore[arg-type]  # fmt: skip
        argv = [str(bindir / "postgres"), "-D", str(data), "-p", str(self.port), "-c", "listen_addresses=127.0.0.1",
                "-k", str(self.folder), "-c", "fsync=off", "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off", "-c", "max_connections=200"]  # fmt: skip
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **drop)  # type: ignore[arg-type]
        _wait_for_port(self.port, self.proc, "postgres")
        self._wait_ready()

    def _wait_ready(self, timeout_s: float = 30.0) -> None:
        import psycopg

        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    folder = Path(tempfile.mkdtemp(prefix="runbook-pg-"))
    server = PostgresServer(port=free_port(), folder=folder)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------- Dovecot (IMAP)

DOVECOT_CONF = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = 1
auth_mechanisms = plain login
disable_plaintext_auth = no
ssl = {ssl}
{ssl_files}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {ssl_port}
    ssl = yes
  }}
}}
"""


@dataclass
class DovecotServer:
    """A dovecot with one user (its Maildir at `maildir`), plain IMAP on `port`, IMAPS on `ssl_port` with the
    self-signed certificate `cert` (for 127.0.0.1 and localhost)."""

    root: Path
    port: int
    ssl_port: int
    user: str
    password: str
    cert: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def maildir(self) -> Path:
        return self.root / "home" / self.user / "Maildir"


def _self_signed(root: Path) -> tuple[Path, Path]:
    cert, key = root / "cert.pem", root / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@contextmanager
def dovecot_server(
    user: str = "qa@example.test", password: str = "imap-pass-4242"
) -> Iterator[DovecotServer]:
    """Debian's dovecot on two free loopback ports, in a throwaway folder; stopped (and the folder removed) after."""
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not os.path.exists(binary):
        raise ServerSetupError("dovecot is not installed: apt-get install dovecot-imapd")
    root = Path(tempfile.mkdtemp(prefix="dovecot-"))
    try:
        cert, key = _self_signed(root)
        root.chmod(0o711)  # dovecot's auth process runs as the dovecot user and must reach the passwd file
        (root / "passwd").write_text(f"{user}:{{PLAIN}}{password}\n")
        (root / "passwd").chmod(0o644)
        (root / "home" / user / "Maildir").mkdir(parents=True)
        server = DovecotServer(root, free_port(), free_port(), user, password, cert)
        # mail is stored as a user of its own: dovecot refuses uid 0 (a test as root), so use its own user
        owner = pwd.getpwnam("dovecot") if os.getuid() == 0 else pwd.getpwuid(os.getuid())
        me = owner.pw_uid, owner.pw_gid
        for folder in (root / "home", root / "home" / user, server.maildir):
            os.chown(folder, *me)
        (root / "dovecot.conf").write_text(
            DOVECOT_CONF.format(
                root=root, port=server.port, ssl_port=server.ssl_port, uid=me[0], gid=me[1],
                ssl="yes", ssl_files=f"ssl_cert = <{cert}\nssl_key = <{key}",
            )
        )  # fmt: skip
        server.proc = subprocess.Popen(
            [binary, "-F", "-c", str(root / "dovecot.conf")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        try:
            _wait_for_port(server.port, server.proc, "dovecot")
            _wait_for_port(server.ssl_port, server.proc, "dovecot")
            yield server
        finally:
            _stop(server.proc)
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------- SMTP (aiosmtpd), delivering into a Maildir


@dataclass
class SmtpServer:
    """aiosmtpd on a free loopback port; every mail it accepts is written into the Maildir `maildir`."""

    host: str
    port: int
    maildir: Path


@contextmanager
def smtp_server(maildir: Path) -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd's Mailbox handler) for the length of the block."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Mailbox

    controller = Controller(Mailbox(maildir), hostname="127.0.0.1", port=free_port())
    controller.start()  # returns once the server answers
    try:
        yield SmtpServer("127.0.0.1", controller.port, maildir)
    finally:
        controller.stop()


# ---------------------------------------------------------------- small test sites


class PageHandler(http.server.BaseHTTPRequestHandler):
    """The base of the tests' tiny HTTP sites: `_page(body)` answers 200 with HTML, and nothing is logged."""

    def _page(self, body: str) -> None:
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass
