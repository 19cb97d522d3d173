"""A whole deploy target on loopback: sshd, nginx backends, haproxy, and `fab` pointed at them.

`start_stack(tmp, backends=2)` does what an operator would on fresh machines:
- one test sshd listening on 127.0.0.1 (the balancer) and 127.0.0.2, 127.0.0.3, ... (backends);
- a settings file that imports publishconf.py and points BACKENDS/BALANCER, ports, reload and
  test commands, content, output and build folders at this temp tree;
- `fab setup`, then nginx per backend (its main conf includes the file `setup` wrote), a
  first build's haproxy.cfg installed and haproxy started with a self-signed certificate.
It does not publish: tests call `stack.fab("publish")` themselves. `stop()` stops every
process it started, by PID.

`LoadClient(stack, pages)` is a bounded client (a thread) that fetches pages through haproxy
over HTTPS, checking the self-signed certificate, and then every asset each page references;
it counts every distinct response for the caller to judge (see `Fetch`).

Reading `fab`'s output: `published(result)` (the release id, or an AssertionError with the
output), `bytes_sent(result)` (files and bytes per backend). Site helpers: `page_paths(output)`,
`file_digests(root)`. Faults: `Stack.kill_nginx(node)` / `Stack.start_nginx(node)`; what went
wrong on the balancer: `Stack.haproxy_log()` (haproxy logs to its output there).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.servers import (
    Process,
    free_port,
    self_signed_pem,
    start_haproxy,
    start_nginx,
    stop,
    wait_for_port,
    write_nginx_main_conf,
)
from tests.support.site import REPO, TEST_STATS_ENV
from tests.support.sshd import Sshd, start_sshd, stop_sshd

FAB = Path(sys.executable).parent / "fab"
PELICAN = Path(sys.executable).parent / "pelican"
SITE_HOST = "blog.example.org"


@dataclass
class BackendNode:
    """One nginx backend of the stack."""

    name: str
    address: str
    port: int
    root: Path
    prefix: Path
    process: Process | None = None


@dataclass
class Stack:
    """Everything `start_stack` started, and how to run `fab` against it."""

    tmp: Path
    sshd: Sshd
    settings: Path
    content: Path
    output: Path
    backends: list[BackendNode]
    config_dir: Path
    haproxy_dir: Path
    https_port: int
    haproxy: Process | None = None
    extra_settings: list[str] = field(default_factory=list)
    # Chosen once: the settings file is rewritten by set_settings, haproxy.cfg must not move.
    http_port: int = field(default_factory=free_port)
    stats_port: int = field(default_factory=free_port)
    theme_override: str = ""

    def fab_argv(self, *args: str) -> list[str]:
        ssh = ["-S", str(self.sshd.ssh_config), "-i", str(self.sshd.identity)]
        task, *rest = args
        return [str(FAB), "-r", str(REPO), *ssh, task, "--settings", str(self.settings), *rest]

    def fab(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run `fab <task> --settings <ours> ...` as a user would; never raises on failure."""
        return subprocess.run(
            self.fab_argv(*args),
            cwd=REPO,
            env={**os.environ, **TEST_STATS_ENV},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def fab_background(self, *args: str, log: Path) -> subprocess.Popen[bytes]:
        """Start `fab` without waiting; its output goes to `log`."""
        with log.open("wb") as sink:
            return subprocess.Popen(
                self.fab_argv(*args),
                cwd=REPO,
                env={**os.environ, **TEST_STATS_ENV},
                stdout=sink,
                stderr=subprocess.STDOUT,
            )

    def live_release(self, node: BackendNode) -> str | None:
        current = node.root / "current"
        return current.readlink().name if current.is_symlink() else None

    def live_vhost(self, node: BackendNode) -> str:
        return (node.root / "nginx" / "live" / "site.conf").read_text()

    def set_settings(self, *lines: str) -> None:
        """Replace the extra lines at the end of the settings file (fault injection)."""
        self.extra_settings = list(lines)
        self._write_settings()

    def _write_settings(self) -> None:
        backends = ",\n".join(
            "    {"
            f"'name': {node.name!r}, 'address': {node.address!r}, 'port': {node.port}, "
            f"'root': {str(node.root)!r}, 'ssh_host': {node.address!r}, "
            f"'ssh_port': {self.sshd.port}, 'ssh_user': {self.sshd.user!r}, "
            f"'nginx_test_command': 'nginx -t -q -e stderr -c {{conf}}', "
            f"'nginx_reload_command': 'kill -HUP $(cat {node.prefix / 'nginx.pid'})'"
            "}"
            for node in self.backends
        )
        pidfile = self.haproxy_dir / "haproxy.pid"
        self.settings.write_text(
            "# Test inventory written by tests/support/deploy_stack.py.\n"
            "import sys\n"
            f"sys.path.insert(0, {str(REPO)!r})\n"
            "from publishconf import *  # noqa: F403\n"
            f"PATH = {str(self.content)!r}\n"
            f"OUTPUT_PATH = {str(self.output)!r}\n"
            f"DEPLOY_BUILD_PATH = {str(self.tmp / 'deploy-build')!r}\n"
            f"THEME = {str(REPO / 'theme')!r}\n"
            f"PLUGIN_PATHS = [{str(REPO / 'plugins')!r}]\n"
            f"BACKENDS = [\n{backends}\n]\n"
            "BALANCER = {"
            f"'address': '127.0.0.1', 'ssh_host': '127.0.0.1', 'ssh_port': {self.sshd.port}, "
            f"'ssh_user': {self.sshd.user!r}, 'config_dir': {str(self.config_dir)!r}, "
            f"'runtime_socket': {str(self.haproxy_dir / 'admin.sock')!r}, "
            "'haproxy_test_command': 'haproxy -c -q -f {config_dir}', "
            f"'haproxy_reload_command': 'kill -USR2 $(cat {pidfile})'"
            "}\n"
            "HAPROXY_BIND_ADDRESS = '127.0.0.1'\n"
            # No syslog listens on /dev/log here: haproxy logs to its output, haproxy.log.
            "HAPROXY_LOG_TARGET = 'stdout'\n"
            f"HAPROXY_HTTP_PORT = {self.http_port}\n"
            f"HAPROXY_HTTPS_PORT = {self.https_port}\n"
            f"HAPROXY_STATS_PORT = {self.stats_port}\n"
            f"HAPROXY_TLS_PEM = {str(self.haproxy_dir / 'site.pem')!r}\n"
            f"DEPLOY_NGINX_INCLUDE_FILE = {str(self.tmp / 'include' / '{name}.conf')!r}\n"
            "DEPLOY_DRAIN_TIMEOUT = 10\n"
            "DEPLOY_HEALTH_TIMEOUT = 20\n"
            "DEPLOY_RELEASES_KEPT = 3\n"
            # This machine is shared: setup only makes the deploy's folders, provisions nothing.
            "DEPLOY_PROVISION = False\n"
            + "".join(f"{line}\n" for line in [self.theme_override, *self.extra_settings] if line)
        )

    def use_own_theme(self) -> Path:
        """Build with a copy of the theme (returned) that a test may edit, e.g. its CSS."""
        theme = self.tmp / "theme"
        if not theme.exists():
            shutil.copytree(REPO / "theme", theme)
        self.theme_override = f"THEME = {str(theme)!r}"
        self._write_settings()
        return theme

    def release_root(self, node: BackendNode, release: str) -> Path:
        return node.root / "releases" / release

    def https_context(self) -> ssl.SSLContext:
        """Verifies haproxy's self-signed certificate for the site's name."""
        return ssl.create_default_context(cafile=str(self.haproxy_dir / "cert.pem"))

    def kill_nginx(self, node: BackendNode) -> None:
        """SIGKILL a backend's nginx master and its workers (by PID): a crash, not a stop."""
        assert node.process is not None
        master = node.process.pid
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        os.kill(master, signal.SIGKILL)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        node.process.popen.wait(10)

    def start_nginx(self, node: BackendNode) -> None:
        """(Re)start a backend's nginx with the main conf `start_stack` wrote."""
        node.process = start_nginx(node.prefix / "nginx.conf", node.prefix)

    def haproxy_log(self) -> str:
        """What haproxy wrote (its log lines and its own messages), across reloads."""
        assert self.haproxy is not None
        return self.haproxy.log_text()

    def checksums(self) -> dict[str, str]:
        """sha256 of every file and the target of every symlink under every host's tree."""
        sums = {}
        for top in [*(node.root for node in self.backends), self.config_dir]:
            for path in sorted(top.rglob("*")):
                if path.is_symlink():
                    sums[str(path)] = "-> " + str(path.readlink())
                elif path.is_file():
                    sums[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
                else:
                    sums[str(path)] = "dir"
        return sums

    def stop(self) -> None:
        """Stop haproxy, the nginx backends and sshd, by PID."""
        if self.haproxy is not None:
            stop(self.haproxy)
        for node in self.backends:
            if node.process is not None:
                stop(node.process)
        stop_sshd(self.sshd)


def start_stack(tmp: Path, backends: int = 2) -> Stack:
    """Bring up sshd, `fab setup`, nginx per backend and haproxy; see the module docstring."""
    addresses = [f"127.0.0.{2 + index}" for index in range(backends)]
    sshd = start_sshd(tmp / "sshd", ["127.0.0.1", *addresses])
    content = tmp / "content"
    shutil.copytree(REPO / "content", content)
    nodes = [
        BackendNode(
            name=f"web{index + 1}",
            address=address,
            port=free_port(address),
            root=tmp / f"web{index + 1}" / "root",
            prefix=tmp / f"web{index + 1}" / "nginx",
        )
        for index, address in enumerate(addresses)
    ]
    haproxy_dir = tmp / "haproxy"
    stack = Stack(
        tmp=tmp,
        sshd=sshd,
        settings=tmp / "testconf.py",
        content=content,
        output=tmp / "output",
        backends=nodes,
        config_dir=haproxy_dir / "conf",
        haproxy_dir=haproxy_dir,
        https_port=free_port(),
    )
    try:
        self_signed_pem(haproxy_dir, [SITE_HOST])
        stack._write_settings()
        _require(stack.fab("setup"), "fab setup")
        for node in nodes:
            conf = write_nginx_main_conf(node.prefix, [tmp / "include" / f"{node.name}.conf"])
            # No listener until a first publish brings the vhost: nothing to wait for yet.
            node.process = start_nginx(conf, node.prefix)
        # haproxy needs a config before the first publish can drain anything: the first
        # build's, as an operator would install it by hand once.
        build = subprocess.run(
            [str(PELICAN), "-s", str(stack.settings), "--fatal", "warnings"],
            cwd=REPO,
            env={**os.environ, **TEST_STATS_ENV},
            capture_output=True,
            text=True,
            timeout=300,
        )
        _require(build, "bootstrap build")
        shutil.copy(tmp / "deploy-build" / "haproxy" / "haproxy.cfg", stack.config_dir)
        stack.haproxy = start_haproxy([stack.config_dir], haproxy_dir)
        wait_for_port("127.0.0.1", stack.https_port)
    except BaseException:
        stack.stop()
        raise
    return stack


def _require(result: subprocess.CompletedProcess[str], what: str) -> None:
    if result.returncode != 0:
        raise AssertionError(
            f"{what} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )


@dataclass(frozen=True)
class Fetch:
    """One response (or failure) the load client saw."""

    path: str
    status: int  # 0: no HTTP response at all (connection error, timeout)
    sha256: str
    error: str = ""
    # For a page: the fetches of the assets it references, in order.
    assets: tuple[Fetch, ...] = ()


class _AssetRefs(HTMLParser):
    """Same-site paths of the stylesheets, icons, images and scripts a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "link" and set((values.get("rel") or "").split()) & {"stylesheet", "icon"}:
            self.urls.append(values.get("href") or "")
        if tag in {"img", "script", "source"}:
            self.urls.append(values.get("src") or "")
            for candidate in (values.get("srcset") or "").split(","):
                self.urls.append(candidate.strip().split(" ")[0])


def asset_paths(html: str) -> list[str]:
    """The paths on our site of every asset `html` references, without duplicates."""
    parser = _AssetRefs()
    parser.feed(html)
    paths = []
    for url in parser.urls:
        parts = urlsplit(url)
        if url and parts.hostname in {None, SITE_HOST} and parts.path not in paths:
            paths.append(parts.path)
    return paths


# How a kept-alive connection closed by the server before our request shows up: no response.
STALE_CONNECTION = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class _Connection(http.client.HTTPSConnection):
    """HTTPS to haproxy on loopback, with SNI and certificate checks for the site's name."""

    def __init__(self, address: str, port: int, context: ssl.SSLContext) -> None:
        super().__init__(SITE_HOST, port, context=context, timeout=10)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=SITE_HOST)


class LoadClient(threading.Thread):
    """Fetch `pages` in turn, and every asset of each, until stopped; bounded in time and count.

    `stop()` ends the loop once `min_seconds` have passed; it ends by itself after
    `max_seconds` or `max_requests`, whichever comes first.
    """

    def __init__(
        self,
        stack: Stack,
        pages: list[str],
        *,
        min_seconds: float = 20,
        max_seconds: float = 300,
        max_requests: int = 200_000,
    ) -> None:
        super().__init__(daemon=True)
        self.stack, self.pages = stack, pages
        self.min_seconds, self.max_seconds, self.max_requests = (
            min_seconds,
            max_seconds,
            max_requests,
        )
        # Identical responses are counted, not kept one by one: a run makes 100 000s.
        self.fetches: Counter[Fetch] = Counter()
        self.requests = 0
        # What the test is doing now ("publish", "rollback"...): requests and failures are
        # also counted per phase, for the report of each scenario.
        self.phase = "start"
        self.per_phase: dict[str, Counter[str]] = {}
        self.stale_retries = 0
        self._stop_asked = threading.Event()
        self._context = stack.https_context()
        self._conn: _Connection | None = None

    def stop(self) -> None:
        self._stop_asked.set()
        self.join(self.max_seconds + 30)

    def _get(self, path: str) -> tuple[Fetch, bytes]:
        self.requests += 1
        reused = self._conn is not None
        fetch, body, stale = self._get_once(path)
        if stale and reused:
            # A kept-alive connection the server closed while idle (haproxy does on a reload):
            # like browsers and urllib3, send the GET again once on a new connection; counted.
            self.stale_retries += 1
            fetch, body, _ = self._get_once(path)
        return fetch, body

    def _get_once(self, path: str) -> tuple[Fetch, bytes, bool]:
        """The response, its body, and whether the connection was closed under the request."""
        if self._conn is None:
            self._conn = _Connection("127.0.0.1", self.stack.https_port, self._context)
        try:
            self._conn.request("GET", path, headers={"Accept-Encoding": "identity"})
            response = self._conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as error:
            self._conn.close()
            self._conn = None
            failed = Fetch(path, 0, "", f"{type(error).__name__}: {error}")
            return failed, b"", isinstance(error, STALE_CONNECTION)
        if response.will_close:
            self._conn.close()
            self._conn = None
        return Fetch(path, response.status, hashlib.sha256(body).hexdigest()), body, False

    def visit(self, path: str) -> Fetch:
        """Fetch a page, then each asset it references, one after the other."""
        page, body = self._get(path)
        assets = []
        if page.status == 200:
            assets = [self._get(asset)[0] for asset in asset_paths(body.decode("utf-8"))]
        return Fetch(page.path, page.status, page.sha256, page.error, tuple(assets))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    def run(self) -> None:
        started = time.monotonic()
        index = 0
        try:
            while self.requests < self.max_requests:
                elapsed = time.monotonic() - started
                if elapsed > self.max_seconds:
                    break
                if self._stop_asked.is_set() and elapsed >= self.min_seconds:
                    break
                phase = self.phase
                page = self.visit(self.pages[index % len(self.pages)])
                index += 1
                self.fetches[page] += 1
                tally = self.per_phase.setdefault(phase, Counter())
                for fetch in (page, *page.assets):
                    tally["requests"] += 1
                    tally["failed"] += fetch.status != 200
        finally:
            self.close()

    def report(self, name: str) -> str:
        """One line per phase: requests and failures, for a test's printed report."""
        return "\n".join(
            f"  {name:<24} {phase:<28} {tally['requests']:>7} requests {tally['failed']:>4} failed"
            for phase, tally in self.per_phase.items()
        )

    def failures(self) -> Counter[Fetch]:
        """Pages and assets that got no answer, or an answer other than 200, with counts."""
        failed: Counter[Fetch] = Counter()
        for page, count in self.fetches.items():
            for fetch in (page, *page.assets):
                if fetch.status != 200:
                    failed[fetch] += count
        return failed


PUBLISHED = re.compile(r"^published release (\S+) in ([\d.]+)s$", re.MULTILINE)
SENT = re.compile(r"^  (\S+): (\d+) files, (\d+) bytes sent$", re.MULTILINE)


def published(result: subprocess.CompletedProcess[str]) -> str:
    """The release id a successful `fab publish` printed; fail with its output otherwise."""
    match = PUBLISHED.search(result.stdout)
    if result.returncode != 0 or match is None:
        raise AssertionError(
            f"fab publish failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return match.group(1)


def bytes_sent(result: subprocess.CompletedProcess[str]) -> dict[str, tuple[int, int]]:
    """(files, bytes) sent to each backend, from the end of `fab publish`'s output."""
    return {name: (int(files), int(sent)) for name, files, sent in SENT.findall(result.stdout)}


def page_paths(output: Path) -> list[str]:
    """The URL path of every HTML page of a build ("/", "/about/", "/404.html", ...)."""
    paths = []
    for page in sorted(output.rglob("*.html")):
        relative = page.relative_to(output).as_posix()
        paths.append("/" + relative.removesuffix("index.html"))
    return paths


def file_digests(root: Path) -> dict[str, str]:
    """sha256 of every file under `root`, by URL path ("/index.html", "/theme/css/...")."""
    return {
        "/" + path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in root.rglob("*")
        if path.is_file()
    }
