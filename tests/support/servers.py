"""Real nginx and haproxy on loopback, for tests and benchmarks.

Everything lives under a directory the caller owns (a pytest tmp dir, a bench temp dir);
processes are started in the foreground (nginx `daemon off`, haproxy master-worker `-W`) so
the returned `Process` is the master, and they are stopped by PID, never by name.

API:
- `free_port(host="127.0.0.1") -> int`: a TCP port nobody listens on right now.
- `write_nginx_main_conf(prefix, includes, *, brotli=True, extra_http="",
  brotli_module=BROTLI_MODULE) -> Path`: a main `nginx.conf` under `prefix` that runs in the
  foreground as root (pytest's tmp dirs are 0700), keeps pid, logs and temp files under
  `prefix`, loads Debian's brotli_static module when `brotli` is true, and `include`s each
  path of `includes` in the `http {}` context.
- `nginx_test(conf_path, prefix, *, nginx=(NGINX,)) -> subprocess.CompletedProcess`:
  `nginx -t` on that conf; `nginx` is the argv that runs the binary (tests/support/trixie.py).
- `start_nginx(conf_path, prefix, *, wait_for=(), cpus=None) -> Process`: run nginx with that
  main conf; `wait_for` is a list of (host, port) to wait for before returning; `cpus` (a
  taskset list like "0") pins the master and the workers it forks (benchmarks).
- `haproxy_check(config_paths, *, haproxy=(HAPROXY,)) -> subprocess.CompletedProcess`:
  `haproxy -c` on the files, with the binary `haproxy` runs.
- `start_haproxy(config_paths, workdir, *, wait_for=(), cpus=None) -> Process`: haproxy in
  master-worker mode with a pidfile in `workdir` (pinned to `cpus`, it starts one thread per
  CPU it may use); `reload_haproxy(process)` sends SIGUSR2
  to the master for a seamless reload.
- `wait_for_port(host, port, timeout=10.0)`: block until something accepts connections.
- `stop(process, timeout=5.0)`: SIGTERM, then SIGKILL if it is still alive; idempotent.
- `self_signed_pem(directory, hostnames) -> Path`: a certificate and its key, concatenated
  in one PEM the way haproxy wants them (nginx reads both from the same file too).

`Process` remembers its log file so a failure can show why the server did not come up.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
TASKSET = shutil.which("taskset") or "/usr/bin/taskset"
BROTLI_MODULE = Path("/usr/lib/nginx/modules/ngx_http_brotli_static_module.so")


class ServerError(RuntimeError):
    """A server did not start, or its config was refused; the message carries its log."""


@dataclass
class Process:
    """A server we started: its master process and where its output goes."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def free_port(host: str = "127.0.0.1") -> int:
    """Ask the kernel for a port that is free on `host` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    """Return once `host:port` accepts a TCP connection; raise ServerError after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise ServerError(f"nothing listens on {host}:{port} after {timeout}s") from exc
            time.sleep(0.05)


def stop(process: Process, timeout: float = 5.0) -> None:
    """Stop `process` by its PID: SIGTERM, then SIGKILL when it does not exit in time."""
    if process.popen.poll() is not None:
        return
    process.popen.send_signal(signal.SIGTERM)
    try:
        process.popen.wait(timeout)
    except subprocess.TimeoutExpired:
        process.popen.kill()
        process.popen.wait(timeout)


def _start(
    name: str,
    argv: Sequence[str],
    log: Path,
    wait_for: Iterable[tuple[str, int]],
    cpus: str | None = None,
) -> Process:
    if cpus is not None:
        # taskset execs the server: the PID stays the server's, and its children inherit.
        argv = [TASKSET, "-c", cpus, *argv]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as sink:
        popen = subprocess.Popen(
            list(argv), stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    process = Process(name, popen, log)
    try:
        for host, port in wait_for:
            if popen.poll() is not None:
                raise ServerError(f"{name} exited with {popen.returncode}:\n{process.log_text()}")
            wait_for_port(host, port)
    except ServerError as exc:
        stop(process)
        raise ServerError(f"{exc}\n{name} log:\n{process.log_text()}") from None
    return process


def write_nginx_main_conf(
    prefix: Path,
    includes: Sequence[str | Path],
    *,
    brotli: bool = True,
    extra_http: str = "",
    brotli_module: Path = BROTLI_MODULE,
) -> Path:
    """Write `prefix/nginx.conf`: foreground, root workers, everything under `prefix`."""
    prefix.mkdir(parents=True, exist_ok=True)
    for sub in ("logs", "temp/client", "temp/proxy", "temp/fastcgi", "temp/uwsgi", "temp/scgi"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    load = f"load_module {brotli_module};\n" if brotli else ""
    include_lines = "".join(f"    include {Path(path)};\n" for path in includes)
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"{load}"
        # Test trees live in 0700 temp dirs owned by root; workers must be able to read them.
        "user root;\n"
        "worker_processes 1;\n"
        "daemon off;\n"
        f"pid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'logs' / 'error.log'} warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        "    include /etc/nginx/mime.types;\n"
        "    default_type application/octet-stream;\n"
        "    sendfile on;\n"
        f"    access_log {prefix / 'logs' / 'access.log'};\n"
        f"    client_body_temp_path {prefix / 'temp' / 'client'};\n"
        f"    proxy_temp_path {prefix / 'temp' / 'proxy'};\n"
        f"    fastcgi_temp_path {prefix / 'temp' / 'fastcgi'};\n"
        f"    uwsgi_temp_path {prefix / 'temp' / 'uwsgi'};\n"
        f"    scgi_temp_path {prefix / 'temp' / 'scgi'};\n"
        f"{extra_http}"
        f"{include_lines}"
        "}\n",
        encoding="utf-8",
    )
    return conf


def nginx_test(
    conf_path: Path, prefix: Path, *, nginx: Sequence[str] = (NGINX,)
) -> subprocess.CompletedProcess[str]:
    """Run `nginx -t` on a main conf written by `write_nginx_main_conf`."""
    return subprocess.run(
        [*nginx, "-t", "-q", "-p", str(prefix), "-c", str(conf_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def start_nginx(
    conf_path: Path,
    prefix: Path,
    *,
    wait_for: Iterable[tuple[str, int]] = (),
    cpus: str | None = None,
) -> Process:
    """Start nginx in the foreground with `conf_path`; wait until `wait_for` ports listen."""
    return _start(
        "nginx",
        [NGINX, "-p", str(prefix), "-c", str(conf_path)],
        prefix / "logs" / "stdout.log",
        wait_for,
        cpus,
    )


def haproxy_check(
    config_paths: Sequence[Path], *, haproxy: Sequence[str] = (HAPROXY,)
) -> subprocess.CompletedProcess[str]:
    """Run `haproxy -c` on the given files or directories."""
    argv = [*haproxy, "-c"]
    for path in config_paths:
        argv += ["-f", str(path)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def start_haproxy(
    config_paths: Sequence[Path],
    workdir: Path,
    *,
    wait_for: Iterable[tuple[str, int]] = (),
    cpus: str | None = None,
) -> Process:
    """Start haproxy in master-worker mode (`-W`); SIGUSR2 to the master reloads it."""
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [HAPROXY, "-W", "-db", "-p", str(workdir / "haproxy.pid")]
    for path in config_paths:
        argv += ["-f", str(path)]
    return _start("haproxy", argv, workdir / "haproxy.log", wait_for, cpus)


def reload_haproxy(process: Process) -> None:
    """Ask the haproxy master to re-read its config and hand over listeners seamlessly."""
    os.kill(process.pid, signal.SIGUSR2)


def self_signed_pem(directory: Path, hostnames: Sequence[str]) -> Path:
    """Create a self-signed certificate for `hostnames`; return one PEM with cert then key."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key, pem = directory / "cert.pem", directory / "key.pem", directory / "site.pem"
    san = ",".join(f"DNS:{name}" for name in hostnames)
    subprocess.run(
        [
            OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-days", "2", "-subj", f"/CN={hostnames[0]}",
            "-addext", f"subjectAltName={san}",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    pem.write_bytes(cert.read_bytes() + key.read_bytes())
    with contextlib.suppress(OSError):
        pem.chmod(0o600)
    return pem
