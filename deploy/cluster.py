"""The parts of the production shape, started on loopback from Debian packages: a PostgreSQL
primary with a synchronous streaming standby, two `jifen serve` processes (as if on two
machines) that mount one photo volume at two paths, and nginx in front of both.

Everything lives in one state directory: data, logs, pid files, mount points. `stop_all`
stops what a run started there (by the pids it recorded, never by name) and unmounts its
volume, whatever state the run was left in. The directory is root's alone (mode 0700): the
PostgreSQL and nginx users may only pass through it to their own folders (an ACL), its
files are 0600, and PostgreSQL asks for a password (scram-sha-256), kept in one 0600 file.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import pwd
import shutil
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PG_OWNER = "postgres"  # initdb and postgres refuse to run as root
NGINX_USER = "www-data"


@dataclass(frozen=True)
class Ports:
    """Loopback ports of the drill's own (none of PostgreSQL's 5432 or HTTP's 80)."""

    pg_a: int = 55601
    pg_b: int = 55602
    app_a: int = 55611
    app_b: int = 55612
    nginx: int = 55620

    def all(self) -> tuple[int, ...]:
        return (self.pg_a, self.pg_b, self.app_a, self.app_b, self.nginx)

    def named(self) -> dict[int, str]:
        """Each port and what listens on it."""
        return {self.pg_a: "PostgreSQL a", self.pg_b: "PostgreSQL b",
                self.app_a: "app server a", self.app_b: "app server b", self.nginx: "nginx"}


def port_busy(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class ClusterError(RuntimeError):
    """A part did not start or answer as it should."""


# --- who may read what --------------------------------------------------------------------


def private_file(path: str, flags: int) -> int:
    """An `open` opener: a new file is its owner's alone (0600), whatever the umask."""
    return os.open(path, flags, 0o600)


def write_private(path: Path, text: str, owner: str | None = None) -> None:
    """`text` in a file of mode 0600 (made so before anything is written), of `owner`."""
    with open(str(path), "w", opener=private_file) as out:
        os.fchmod(out.fileno(), 0o600)
        if owner is not None:
            shutil.chown(path, owner, owner)
        out.write(text)


# A POSIX access ACL as Linux keeps it (the system.posix_acl_access attribute): a version,
# then (tag, permissions, id) entries in the order of their tags, then of their ids.
ACL_ATTRIBUTE = "system.posix_acl_access"
_ACL_VERSION = 2
ACL_USER_OBJ, ACL_USER, ACL_GROUP_OBJ, ACL_MASK, ACL_OTHER = 0x01, 0x02, 0x04, 0x10, 0x20
_NO_ID = 0xFFFFFFFF


def traverse_only_acl(uids: Iterable[int]) -> bytes:
    """The ACL of a folder of mode 0700 that lets these users through it, and no more: they
    may open what they know the name of inside (x), never list or read the folder. (Its mode
    then shows the mask as the group's bits: 0710.)"""
    entries = [(ACL_USER_OBJ, 0o7, _NO_ID), *((ACL_USER, 0o1, uid) for uid in sorted(set(uids))),
               (ACL_GROUP_OBJ, 0, _NO_ID), (ACL_MASK, 0o1, _NO_ID), (ACL_OTHER, 0, _NO_ID)]
    return struct.pack("<I", _ACL_VERSION) + b"".join(struct.pack("<HHI", *entry)
                                                      for entry in entries)


def acl_entries(data: bytes) -> list[tuple[int, int, int]]:
    """(tag, permissions, id) of each entry of an ACL as `traverse_only_acl` writes it."""
    (version,) = struct.unpack_from("<I", data)
    if version != _ACL_VERSION or (len(data) - 4) % 8:
        raise ValueError(f"not a POSIX ACL (version {version}, {len(data)} bytes)")
    return [struct.unpack_from("<HHI", data, offset) for offset in range(4, len(data), 8)]


def let_through(folder: Path, users: Sequence[str]) -> None:
    """`folder` root's alone (0700), except that `users` may pass through it."""
    try:
        uids = [pwd.getpwnam(user).pw_uid for user in users]
    except KeyError as missing:
        raise ClusterError(f"no user {missing} on this machine (apt-get install "
                           "nginx-light postgresql)") from None
    folder.chmod(0o700)
    try:
        os.setxattr(folder, ACL_ATTRIBUTE, traverse_only_acl(uids))
    except OSError as error:
        raise ClusterError(f"{folder}: cannot let {' and '.join(users)} through it (a POSIX "
                           f"ACL: {error.strerror}); give a --state on a filesystem with "
                           "ACLs (ext4, xfs, tmpfs)") from None


# --- processes ------------------------------------------------------------------------


def _start_time(pid: int) -> int | None:
    """The process's start time (clock ticks after boot), None if there is no such process:
    with the pid it names one process, never a later one that reused the number."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return int(fields[19])


def _descendants(root: int) -> list[int]:
    """The pid's children, grandchildren...: read from every process's parent in /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _gone(pid: int) -> bool:
    """No such process, or a dead one not yet reaped (a zombie: its parent, killed with it,
    left it to init)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] in "ZX"
    except (OSError, IndexError):
        return True


def _wait_gone(pids: Sequence[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(_gone(p) for p in pids):
            return True
        time.sleep(0.02)
    return all(_gone(p) for p in pids)


# The file a run leaves in its state folder: only a folder holding it is ever stopped from or
# deleted (the drill runs as root; /tmp/jifen-drill is a name anyone could plant first).
MARKER = ".jifen-drill"


def state_folder(given: str) -> State:
    """The run's folder from --state, refused (ClusterError) if it is a symbolic link, or if
    it exists and is not a folder of root's that an earlier run made (holding MARKER)."""
    path = Path(given).absolute()
    if path.is_symlink():
        raise ClusterError(f"--state {given}: a symbolic link; give a real folder")
    if path.exists():
        info = path.stat()
        if not path.is_dir() or info.st_uid != os.geteuid() or \
                not (path / MARKER).is_file():
            raise ClusterError(f"--state {given}: exists and was not made by the drill "
                               f"(no {MARKER} in it, or not root's); choose another folder "
                               "or remove it yourself")
    return State(path.resolve())


@dataclass
class State:
    """The run's directory: everything it starts keeps its files here."""

    root: Path

    @property
    def pids(self) -> Path:
        return self.root / "pids"

    @property
    def pg(self) -> Path:
        return self.root / "pg"

    @property
    def nginx(self) -> Path:
        return self.root / "nginx"

    @property
    def volume(self) -> Path:
        """The shared photo volume (a small tmpfs: the NFS export of a real deployment)."""
        return self.root / "volume"

    def mount_point(self, server: str) -> Path:
        """Where one app server mounts the volume (each its own path, as two machines)."""
        return self.root / f"mnt-{server}"

    @property
    def passfile(self) -> Path:
        """The PostgreSQL passwords (a libpq password file, 0600, the postgres user's): for
        the drill's psql, pg_basebackup and the standby's connection to its primary."""
        return self.pg / "pgpass"

    def log(self, name: str) -> Path:
        return self.root / "logs" / name

    @property
    def owner_file(self) -> Path:
        """The drill process that made the folder (its pid and start time): a run still
        setting up has started nothing else yet, and `deploy/drill`'s cleanup stops only
        what its own run started."""
        return self.root / "drill.json"

    def prepare(self, owner: int) -> None:
        """A fresh directory for the run of process `owner`: what an earlier run left is
        stopped and deleted first (the caller has made sure none of it runs: `running`).
        Root's alone; the PostgreSQL and nginx users may pass through to their folders."""
        if self.root.exists():
            stop_all(self, quiet=True)
            shutil.rmtree(self.root)
        self.root.mkdir(mode=0o700, parents=True)
        let_through(self.root, [PG_OWNER, NGINX_USER])
        for folder in (self.pids, self.pg, self.nginx, self.root / "logs"):
            folder.mkdir(mode=0o700)
        write_private(self.root / MARKER, "made by deploy/drill: it may delete this folder\n")
        self.claim(owner)

    def claim(self, owner: int) -> None:
        """Record process `owner` as the drill that made the folder."""
        write_private(self.owner_file, json.dumps({"pid": owner, "start": _start_time(owner)}))

    def owner(self) -> int | None:
        """The pid of the drill process that made the folder, if it still runs."""
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            data = json.loads(self.owner_file.read_text())
            pid = int(data["pid"])
            if data["start"] is not None and _start_time(pid) == data["start"] and \
                    not _gone(pid):
                return pid
        return None

    def made_by(self, pid: int) -> bool:
        """Whether process `pid` made the folder (alive or not)."""
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            return int(json.loads(self.owner_file.read_text())["pid"]) == pid
        return False

    def remember(self, name: str, pid: int, kind: str) -> None:
        record = {"pid": pid, "start": _start_time(pid), "kind": kind}
        (self.pids / f"{name}.json").write_text(json.dumps(record))

    def forget(self, name: str) -> None:
        (self.pids / f"{name}.json").unlink(missing_ok=True)

    def recorded(self) -> Iterator[tuple[str, int, str]]:
        """(name, pid, kind) of each process recorded and still the same process."""
        for record in sorted(self.pids.glob("*.json")):
            with contextlib.suppress(OSError, ValueError, KeyError):
                data = json.loads(record.read_text())
                if data["start"] is not None and _start_time(data["pid"]) == data["start"]:
                    yield record.stem, int(data["pid"]), str(data["kind"])


def run(command: Sequence[str], *, as_owner: bool = False, cwd: Path | None = None,
        check: bool = True, env: dict[str, str] | None = None, input: str | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """A command to its end; ClusterError with its output if it failed (check). Nothing
    secret on its command line (`ps` shows it to everyone): in `env` or `input`."""
    full = ["runuser", "-u", PG_OWNER, "--", *command] if as_owner else list(command)
    done = subprocess.run(full, cwd=cwd, env=env, input=input, capture_output=True, text=True,
                          timeout=timeout, check=False)
    if check and done.returncode != 0:
        raise ClusterError(f"{' '.join(command)} exited with {done.returncode}:\n"
                           f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done


# --- PostgreSQL -------------------------------------------------------------------------


def pg_bindir() -> Path:
    """The newest /usr/lib/postgresql/*/bin with a server (Debian's layout)."""
    found = sorted((d for d in Path("/usr/lib/postgresql").glob("*/bin")
                    if (d / "pg_ctl").exists() and d.parent.name.isdigit()),
                   key=lambda d: int(d.parent.name))
    if not found:
        raise ClusterError("no PostgreSQL server under /usr/lib/postgresql "
                           "(apt-get install postgresql)")
    return found[-1]


def passfile_line(user: str, password: str) -> str:
    """A line of a libpq password file: `user`'s password on loopback, any port, any
    database (replication included); `:` and `\\` escaped, as libpq reads them."""
    def escaped(text: str) -> str:
        return text.replace("\\", "\\\\").replace(":", "\\:")

    if "\n" in password or "\r" in password:
        raise ValueError("a password of one line")
    return f"127.0.0.1:*:*:{escaped(user)}:{escaped(password)}\n"


def write_passfile(state: State, passwords: dict[str, str]) -> None:
    """The roles' passwords in the state's password file (0600, the postgres user's)."""
    state.pg.mkdir(mode=0o700, exist_ok=True)
    shutil.chown(state.pg, PG_OWNER, PG_OWNER)
    write_private(state.passfile, "".join(passfile_line(user, password)
                                          for user, password in passwords.items()),
                  owner=PG_OWNER)


def sql_literal(text: str) -> str:
    """`text` as an SQL string literal (standard_conforming_strings: only ' is doubled)."""
    return "'" + text.replace("'", "''") + "'"


# Every node's settings (the primary's file is copied to a standby by pg_basebackup); what
# differs per node (port, name, its synchronous standby) is in node.conf.
COMMON_CONF = """
# --- jifen failover drill (deploy/cluster.py) ---
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 100
shared_buffers = 64MB
wal_level = replica
max_wal_senders = 5
wal_keep_size = 256MB
hot_standby = on
# A commit is acknowledged once the synchronous standby has it on disk too.
synchronous_commit = on
log_line_prefix = '%m [%p] %a '
include_if_exists = 'node.conf'
"""


@dataclass
class PgNode:
    """One PostgreSQL server of the pair: `a` (the first primary) or `b` (its standby)."""

    state: State
    name: str
    port: int
    bindir: Path = field(default_factory=pg_bindir)

    @property
    def folder(self) -> Path:
        return self.state.pg / self.name

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def logfile(self) -> Path:
        return self.folder / "server.log"

    @property
    def application_name(self) -> str:
        """Its name to the primary it streams from (cluster_name): what
        synchronous_standby_names lists."""
        return f"jifen_{self.name}"

    def _env(self) -> dict[str, str]:
        return {**os.environ, "PGPASSFILE": str(self.state.passfile)}

    def _tool(self, tool: str, *args: str, check: bool = True,
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return run([str(self.bindir / tool), *args], as_owner=True, cwd=self.state.pg,
                   env=self._env(), check=check, timeout=timeout)

    def _own(self) -> None:
        shutil.chown(self.state.pg, PG_OWNER, PG_OWNER)
        self.state.pg.chmod(0o700)
        self.folder.mkdir(mode=0o700, exist_ok=True)
        shutil.chown(self.folder, PG_OWNER, PG_OWNER)
        self.folder.chmod(0o700)

    def initdb(self, superuser_password: str) -> None:
        """A new cluster whose every connection, replication too, gives a password
        (scram-sha-256): `superuser_password` is postgres's, read from a file (not argv)."""
        self._own()
        pwfile = self.folder / "initdb-password"
        write_private(pwfile, superuser_password + "\n", owner=PG_OWNER)
        try:
            self._tool("initdb", "-D", str(self.data), "-U", "postgres",
                       "--auth=scram-sha-256", f"--pwfile={pwfile}",
                       "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        finally:
            pwfile.unlink(missing_ok=True)
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(COMMON_CONF)

    def write_node_conf(self, sync_standby: str = "") -> None:
        """Its port and name, and the standby whose flush its commits wait for (none: '')."""
        conf = self.data / "node.conf"
        conf.write_text(f"port = {self.port}\ncluster_name = '{self.application_name}'\n"
                        f"synchronous_standby_names = '{sync_standby}'\n")
        shutil.chown(conf, PG_OWNER, PG_OWNER)

    def start(self) -> None:
        self._tool("pg_ctl", "start", "-D", str(self.data), "-l", str(self.logfile),
                   "-w", "-t", "60")

    def reload(self) -> None:
        self._tool("pg_ctl", "reload", "-D", str(self.data))

    def promote(self) -> None:
        self._tool("pg_ctl", "promote", "-D", str(self.data), "-w", "-t", "60")

    def postmaster(self) -> int | None:
        return _postmaster(self.data)

    def kill9(self) -> None:
        """kill -9 of the server and every process of it, as a crash of its machine."""
        pid = self.postmaster()
        if pid is None:
            return
        doomed = [pid, *_descendants(pid)]
        for each in doomed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(each, signal.SIGKILL)
        if not _wait_gone(doomed, 30):
            raise ClusterError(f"PostgreSQL {self.name} (pid {pid}) survived kill -9")

    def stop(self) -> None:
        if self.postmaster() is None:
            return
        self._tool("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30",
                   check=False)
        if self.postmaster() is not None:
            self.kill9()

    def basebackup_from(self, primary: PgNode) -> None:
        """A new standby of `primary`: its files copied (pg_basebackup -R: standby.signal and
        primary_conninfo written, naming the password file: the standby's connection gives
        the password too), then its own node.conf."""
        self._own()
        if self.data.exists():
            shutil.rmtree(self.data)
        self._tool("pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
                   "-D", str(self.data), "-R", "-X", "stream", "-c", "fast", "--no-sync")
        self.write_node_conf()

    def sql(self, query: str, database: str = "postgres", timeout: float = 30) -> str:
        """The query's answer, as postgres; the query on psql's input (it may hold a
        password: `ps` shows command lines)."""
        done = run([str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                    "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database],
                   env=self._env(), input=query, timeout=timeout)
        return done.stdout.strip()

    def wait_streaming(self, standby: PgNode, seconds: float = 60) -> None:
        """Until `standby` streams from this server."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            state = self.sql("SELECT state FROM pg_stat_replication WHERE application_name = "
                             f"'{standby.application_name}'")
            if state == "streaming":
                return
            time.sleep(0.2)
        raise ClusterError(f"{standby.application_name} does not stream from {self.name}")

    def require_sync(self, standby: PgNode) -> None:
        """Make `standby` this primary's synchronous standby, and check that it is."""
        self.write_node_conf(sync_standby=standby.application_name)
        self.reload()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.sql("SELECT sync_state FROM pg_stat_replication WHERE application_name = "
                        f"'{standby.application_name}'") == "sync":
                return
            time.sleep(0.2)
        raise ClusterError(f"{standby.application_name} did not become synchronous")

    def become_sync_standby_of(self, primary: PgNode) -> None:
        """Copy `primary`, start, and stream from it as its synchronous standby (checked)."""
        self.basebackup_from(primary)
        self.start()
        primary.wait_streaming(self)
        primary.require_sync(self)


# --- the photo volume ---------------------------------------------------------------------


@dataclass
class Volume:
    """One small filesystem (tmpfs) that both app servers mount, each at its own path, as
    two machines mount one NFS export: a photo written through one is read through the
    other. Small, so the drill can fill it."""

    state: State
    size_mb: int

    def mount(self) -> None:
        self.state.volume.mkdir(exist_ok=True)
        run(["mount", "-t", "tmpfs", "-o", f"size={self.size_mb}m,mode=0700", "jifen-drill",
             str(self.state.volume)])
        (self.state.volume / "uploads").mkdir()
        for server in ("a", "b"):
            point = self.state.mount_point(server)
            point.mkdir(exist_ok=True)
            run(["mount", "--bind", str(self.state.volume), str(point)])

    def upload_dir(self, server: str) -> Path:
        return self.state.mount_point(server) / "uploads"

    @property
    def filler(self) -> Path:
        return self.state.volume / "filler.bin"

    def fill(self) -> int:
        """Fill the volume to the last byte (as another tenant's files would); bytes written."""
        written = 0
        chunk = b"\0" * (1 << 20)
        with self.filler.open("wb", buffering=0) as out:
            for size in (1 << 20, 1 << 16, 1 << 12, 1 << 9, 1):
                while True:
                    try:
                        written += out.write(chunk[:size])
                    except OSError as error:
                        if error.errno != errno.ENOSPC:
                            raise
                        break
        return written

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def available(self) -> int:
        stats = os.statvfs(self.state.volume)
        return stats.f_bavail * stats.f_frsize


def unmount_all(state: State) -> None:
    """Unmount every mount under the state directory, deepest first."""
    root = str(state.root.resolve())
    points = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            point = line.split()[4].replace("\\040", " ")
            if point == root or point.startswith(root + "/"):
                points.append(point)
    for point in sorted(points, key=len, reverse=True):
        if run(["umount", point], check=False).returncode != 0:
            run(["umount", "-l", point], check=False)


# --- the app servers ------------------------------------------------------------------------


@dataclass
class AppServer:
    """`jifen serve` on its port, as one machine of the pair: its own log, its own mount of
    the photo volume, the settings every server shares."""

    state: State
    name: str
    port: int
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> float:
        """Start it and wait for /healthz; the seconds that took."""
        began = time.monotonic()
        with open(str(self.state.log(f"app-{self.name}.log")), "ab", opener=private_file) as log:
            self.process = subprocess.Popen(
                [str(VENV_BIN / "jifen"), "serve", "--host", "127.0.0.1", "--port",
                 str(self.port), "--workers", "1"],
                cwd=self.state.root, env={**os.environ, **self.env}, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        self.state.remember(f"app-{self.name}", self.process.pid, "app")
        while time.monotonic() - began < timeout:
            if self.process.poll() is not None:
                raise ClusterError(f"app server {self.name} exited; see "
                                   f"{self.state.log(f'app-{self.name}.log')}")
            if _http_ok(self.port, "/healthz"):
                return time.monotonic() - began
            time.sleep(0.05)
        raise ClusterError(f"app server {self.name} did not answer /healthz in {timeout} s")

    def kill9(self) -> None:
        """kill -9 of the process (its whole group), as a crash of its machine."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.state.forget(f"app-{self.name}")
        self.process = None


def _http_ok(port: int, path: str) -> bool:
    """GET answered 200 (plain sockets: no client library's pools or retries)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            conn.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                         .encode())
            conn.settimeout(5)
            head = conn.recv(64)
    except OSError:
        return False
    return head.startswith(b"HTTP/1.1 200")


# --- nginx ---------------------------------------------------------------------------------


NGINX_CONF = """# Written by deploy/drill: the load balancer of the drill (docs/deployment.md).
user {user};
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 512; }}
http {{
    # $request, not $uri: an answer of error_page's below has its own uri. Per upstream
    # tried: its address, its status, the bytes sent to it (a request cut off in flight
    # had some sent); the Idempotency-Key (a random id of the client's, no secret).
    log_format drill '$msec $status "$request" $request_time "$upstream_addr" '
                     '"$upstream_status" "$upstream_bytes_sent" "$http_idempotency_key"';
    access_log {dir}/access.log drill;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    # A photo (JIFEN_MAX_UPLOAD_MB, 8) and its form; the app refuses more itself (413).
    client_max_body_size 10m;
    client_body_buffer_size 1m;

    upstream jifen {{
        # Passive health: a server that failed once is left alone for fail_timeout.
        server 127.0.0.1:{a} max_fails=1 fail_timeout=5s;
        server 127.0.0.1:{b} max_fails=1 fail_timeout=5s;
        keepalive 16;
    }}

    server {{
        listen 127.0.0.1:{port};
        # nginx's own 502/504 (no app server answered) as a page of ours that tells the
        # member to try again; the app's own answers (its 503 database_unavailable too) pass
        # unchanged: proxy_intercept_errors is off.
        error_page 502 503 504 /unavailable.html;
        location = /unavailable.html {{
            internal;
            root {html};    # the project's static/ (unavailable.html copied)
            default_type "text/html; charset=utf-8";
            types {{ }}
            add_header X-Jifen-Unavailable 1 always;
            add_header Cache-Control "no-store" always;
        }}
        location / {{
            proxy_pass http://jifen;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Request-ID $request_id;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
            # To the other server: a request no server has received (refused, reset before
            # sending), and a GET that failed. Not a POST that a server received and then
            # died on (`non_idempotent` is off): the client sends it again with its
            # Idempotency-Key, which the app answers once (docs/deployment.md).
            proxy_next_upstream error timeout http_502 http_504;
            proxy_next_upstream_tries 2;
            proxy_next_upstream_timeout 10s;
        }}
    }}
}}
"""


# The page nginx answers when no app server does (static/unavailable.html).
UNAVAILABLE_PAGE = ROOT / "static" / "unavailable.html"


@dataclass
class Nginx:
    state: State
    ports: Ports

    @property
    def conf(self) -> Path:
        return self.state.nginx / "nginx.conf"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports.nginx}"

    @property
    def html(self) -> Path:
        return self.state.nginx / "html"

    def start(self) -> None:
        """Its configuration, logs and pid root's alone; its workers (NGINX_USER) pass
        through the folder (group) to their temporary files and the unavailable page."""
        folder = self.state.nginx
        worker = pwd.getpwnam(NGINX_USER).pw_gid
        for shared in (folder, folder / "tmp", self.html):
            shared.mkdir(mode=0o710, exist_ok=True)
            os.chown(shared, 0, worker)
            shared.chmod(0o710)
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (folder / "tmp" / sub).mkdir(mode=0o700, exist_ok=True)
            shutil.chown(folder / "tmp" / sub, NGINX_USER)
        page = self.html / UNAVAILABLE_PAGE.name
        shutil.copyfile(UNAVAILABLE_PAGE, page)
        os.chown(page, 0, worker)
        page.chmod(0o640)
        for log in ("access.log", "error.log"):  # the master opens them, as root
            write_private(folder / log, "")
        write_private(self.conf, NGINX_CONF.format(
            user=NGINX_USER, dir=folder, html=self.html, a=self.ports.app_a,
            b=self.ports.app_b, port=self.ports.nginx))
        base = ["nginx", "-p", str(folder), "-c", str(self.conf), "-e", str(folder / "error.log")]
        run([*base, "-t"])
        run(base)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, ValueError):
                pid = int((folder / "nginx.pid").read_text())
                self.state.remember("nginx", pid, "nginx")
                return
            time.sleep(0.05)
        raise ClusterError("nginx did not write its pid file")


# --- stopping everything ---------------------------------------------------------------------


def _postmaster(data: Path) -> int | None:
    """The pid of the PostgreSQL server of data folder `data`, if it runs."""
    try:
        pid = int((data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if _start_time(pid) is not None else None


def running(state: State) -> list[int]:
    """The pids of what a run in `state` started and is still alive: the drill process
    itself, the processes it recorded, its PostgreSQL servers. Another run there must not
    start while there is one: it would stop them first."""
    if not state.root.exists():
        return []
    pids = [pid for _, pid, _ in state.recorded()]
    if state.pg.exists():
        pids += [pid for data in sorted(state.pg.glob("*/data"))
                 if (pid := _postmaster(data)) is not None]
    if (owner := state.owner()) is not None:
        pids.append(owner)
    return sorted(pid for pid in set(pids) if not _gone(pid))


def stop_all(state: State, quiet: bool = False) -> list[str]:
    """Stop what a run started in `state` and unmount its volume; what was stopped."""
    done: list[str] = []
    if not state.root.exists():
        return done
    for name, pid, kind in state.recorded():
        with contextlib.suppress(ProcessLookupError):
            if kind == "app":
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGTERM)
        if not _wait_gone([pid], 10):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _wait_gone([pid], 5)
        state.forget(name)
        done.append(f"{name} (pid {pid})")
    for data in sorted(state.pg.glob("*/data")) if state.pg.exists() else []:
        node = PgNode(state, data.parent.name, 0)
        if node.postmaster() is not None:
            node.stop()
            done.append(f"PostgreSQL {data.parent.name}")
    before = _mounted(state)
    unmount_all(state)
    done += [f"unmounted {point}" for point in before]
    if not quiet:
        for line in done or ["nothing was running"]:
            print(f"drill stop: {line}")
    return done


def _mounted(state: State) -> list[str]:
    root = str(state.root.resolve())
    with contextlib.suppress(OSError):
        return [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()
                if line.split()[4].startswith(root + "/")]
    return []
