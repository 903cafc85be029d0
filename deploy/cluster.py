"""The parts of the production shape, started on loopback from Debian packages: a PostgreSQL
primary with a synchronous streaming standby, two `jifen serve` processes (as if on two
machines) that mount one photo volume at two paths, and nginx in front of both.

Everything lives in one state directory: data, logs, pid files, mount points. `stop_all`
stops what a run started there (by the pids it recorded, never by name) and unmounts its
volume, whatever state the run was left in.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
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


def port_busy(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class ClusterError(RuntimeError):
    """A part did not start or answer as it should."""


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

    def log(self, name: str) -> Path:
        return self.root / "logs" / name

    def prepare(self) -> None:
        """A fresh directory: what an earlier run left is stopped and deleted first."""
        if self.root.exists():
            stop_all(self, quiet=True)
            shutil.rmtree(self.root)
        for folder in (self.root, self.pids, self.pg, self.nginx, self.root / "logs"):
            folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        (self.root / MARKER).write_text("made by deploy/drill: it may delete this folder\n")

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
        check: bool = True, env: dict[str, str] | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """A command to its end; ClusterError with its output if it failed (check)."""
    full = ["runuser", "-u", PG_OWNER, "--", *command] if as_owner else list(command)
    done = subprocess.run(full, cwd=cwd, env=env, capture_output=True, text=True,
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

    def _tool(self, tool: str, *args: str, check: bool = True,
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return run([str(self.bindir / tool), *args], as_owner=True, cwd=self.state.pg,
                   check=check, timeout=timeout)

    def _own(self) -> None:
        shutil.chown(self.state.pg, PG_OWNER, PG_OWNER)
        self.folder.mkdir(exist_ok=True)
        shutil.chown(self.folder, PG_OWNER, PG_OWNER)
        self.folder.chmod(0o700)

    def initdb(self) -> None:
        self._own()
        self._tool("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                   "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
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
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if _start_time(pid) is not None else None

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
        primary_conninfo written), then its own node.conf."""
        self._own()
        if self.data.exists():
            shutil.rmtree(self.data)
        self._tool("pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
                   "-D", str(self.data), "-R", "-X", "stream", "-c", "fast", "--no-sync")
        self.write_node_conf()

    def sql(self, query: str, database: str = "postgres", timeout: float = 30) -> str:
        done = run([str(self.bindir / "psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                    "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database,
                    "-c", query], timeout=timeout)
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
        run(["mount", "-t", "tmpfs", "-o", f"size={self.size_mb}m,mode=0755", "jifen-drill",
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
        log = self.state.log(f"app-{self.name}.log").open("ab")
        self.process = subprocess.Popen(
            [str(VENV_BIN / "jifen"), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", "1"],
            cwd=self.state.root, env={**os.environ, **self.env}, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
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
    log_format drill '$msec $status $request_method $uri $upstream_addr '
                     '$upstream_status $request_time';
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

    def start(self) -> None:
        folder = self.state.nginx
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (folder / "tmp" / sub).mkdir(parents=True, exist_ok=True)
            shutil.chown(folder / "tmp" / sub, NGINX_USER)
        self.conf.write_text(NGINX_CONF.format(
            user=NGINX_USER, dir=folder, a=self.ports.app_a, b=self.ports.app_b,
            port=self.ports.nginx))
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
