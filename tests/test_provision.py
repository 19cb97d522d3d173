"""`fab setup` on a bare Debian 12 host, for real: apt inside a debootstrap root, over SSH.

One host plays both roles (the one-server setup): an nginx backend and the haproxy balancer.
There is no systemd in the root, so the start and reload commands are settings that run the
tests' stand-in (tests/support/files/unitctl) the way Debian's units would.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploy.hosts import scripts
from deploy.tasks.setup import sudoers_lines
from tests.support.debian_host import DebianHost, start_debian_host
from tests.support.deploy_stack import published
from tests.support.pebble import Pebble, start_pebble
from tests.support.rate_limited_ca import DETAIL, RATE_LIMITED, start_rate_limited_ca
from tests.support.servers import free_port
from tests.support.site import REPO, TEST_STATS_ENV

FAB = Path(sys.executable).parent / "fab"
ADDRESS = "127.0.0.40"
SITE_HOST = "blog.example.org"
ALIAS = "www.blog.example.org"
UNITCTL = "/usr/local/sbin/unitctl"
PEM = "/etc/haproxy/certs/blog.pem"
# Where the test puts the certificate of pebble's ACME API, for certbot to trust (ACME_CA_BUNDLE).
PEBBLE_API_CERT = "/etc/ssl/pebble-api.pem"

pytestmark = pytest.mark.servers


def test_sudoers_lines_allow_only_sudo_commands_with_escaped_arguments():
    lines = sudoers_lines(
        [
            "sudo nginx -t -c '/srv/blog/nginx/test.conf'",
            "sudo -n socat -t 10 - UNIX-CONNECT:/run/haproxy/admin.sock",
            "kill -HUP $(cat /run/nginx.pid)",
            "sudo nginx -t -c '/srv/blog/nginx/test.conf'",
        ]
    )
    assert lines == (
        "nginx -t -c /srv/blog/nginx/test.conf\n"
        "socat -t 10 - UNIX-CONNECT\\:/run/haproxy/admin.sock\n"
    )


def write_settings(
    path: Path,
    tmp: Path,
    host: DebianHost,
    ports: dict[str, int],
    acme: tuple[str, int],
    **extra: str,
):
    backend = {
        "name": "web1",
        "address": ADDRESS,
        "port": ports["nginx"],
        "root": "/srv/blog",
        "ssh_host": ADDRESS,
        "ssh_port": host.port,
        "ssh_user": "deploy",
        "nginx_reload_command": f"sudo {UNITCTL} reload nginx",
        "nginx_start_command": f"{UNITCTL} start nginx",
    }
    balancer = {
        "address": ADDRESS,
        "ssh_host": ADDRESS,
        "ssh_port": host.port,
        "ssh_user": "deploy",
        "haproxy_reload_command": f"sudo {UNITCTL} reload haproxy",
        "haproxy_start_command": extra.pop("haproxy_start_command", f"{UNITCTL} start haproxy"),
    }
    path.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "from publishconf import *  # noqa: F403\n"
        f"PATH = {str(REPO / 'content')!r}\n"
        f"OUTPUT_PATH = {str(tmp / 'output')!r}\n"
        f"DEPLOY_BUILD_PATH = {str(tmp / 'deploy-build')!r}\n"
        # Pelican reads these relative to the settings file, which is not in the repository.
        f"THEME = {str(REPO / 'theme')!r}\n"
        f"PLUGIN_PATHS = [{str(REPO / 'plugins')!r}]\n"
        f"BACKENDS = [{backend!r}]\n"
        f"BALANCER = {balancer!r}\n"
        f"HAPROXY_BIND_ADDRESS = {ADDRESS!r}\n"
        f"HAPROXY_HTTP_PORT = {ports['http']}\n"
        f"HAPROXY_HTTPS_PORT = {ports['https']}\n"
        f"HAPROXY_STATS_ADDRESS = {ADDRESS!r}\n"
        f"HAPROXY_STATS_PORT = {ports['stats']}\n"
        "DEPLOY_HEALTH_TIMEOUT = 20\n"
        "DEPLOY_DRAIN_TIMEOUT = 5\n"
        f"NGINX_SERVER_ALIASES = [{ALIAS!r}]\n"
        f"ACME_DIRECTORY_URL = {acme[0]!r}\n"
        f"ACME_CHALLENGE_PORT = {acme[1]}\n"
        f"ACME_CA_BUNDLE = {PEBBLE_API_CERT!r}\n"
    )


# What each `fab` command printed, kept as the "Going live" transcript of the last run.
TRANSCRIPT = REPO / "test-artifacts" / "going-live.txt"


def fab(host: DebianHost, settings: Path, *args: str) -> subprocess.CompletedProcess[str]:
    task, *rest = args
    argv = [str(FAB), "-r", str(REPO), "-S", str(host.ssh_config), "-i", str(host.identity)]
    result = subprocess.run(
        [*argv, task, "--settings", str(settings), *rest],
        cwd=REPO,
        env={**os.environ, **TEST_STATS_ENV},
        capture_output=True,
        text=True,
        timeout=900,
    )
    TRANSCRIPT.parent.mkdir(parents=True, exist_ok=True)
    with TRANSCRIPT.open("a", encoding="utf-8") as transcript:
        transcript.write(f"$ fab {' '.join(args)}   # exit {result.returncode}\n")
        transcript.write(result.stdout + result.stderr + "\n")
    return result


@dataclass
class Live:
    """One bare host taken to a live HTTPS site by `fab setup` with ACME from pebble."""

    host: DebianHost
    pebble: Pebble
    settings: Path
    tmp: Path
    ports: dict[str, int]
    setup: list[subprocess.CompletedProcess[str]]
    release: str

    def root_ca(self) -> Path:
        """pebble's root, which the certificates it issues chain to."""
        path = self.tmp / "pebble-root.pem"
        path.write_text(self.pebble.root())
        return path


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """Provision a bare host (a first run that fails, the rerun, a second run) and publish."""
    tmp = tmp_path_factory.mktemp("provision")
    TRANSCRIPT.unlink(missing_ok=True)
    host = start_debian_host(tmp / "host", ADDRESS)
    pebble = None
    try:
        shutil.copy(REPO / "tests/support/files/unitctl", host.path(UNITCTL))
        ports = {name: free_port(ADDRESS) for name in ("nginx", "http", "https", "stats")}
        ports["acme"] = free_port()
        pebble = start_pebble(tmp / "pebble", ADDRESS, ports["http"])
        host.path(PEBBLE_API_CERT).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(pebble.api_cert, host.path(PEBBLE_API_CERT))
        settings = tmp / "hostconf.py"
        acme = pebble.directory_url, ports["acme"]
        # A first run that fails midway: haproxy does not start.
        write_settings(
            settings, tmp, host, ports, acme, haproxy_start_command="echo no haproxy >&2; exit 3"
        )
        runs = [fab(host, settings, "setup", "--admin", "root")]
        # The rerun completes it, and a third run changes nothing.
        write_settings(settings, tmp, host, ports, acme)
        runs += [fab(host, settings, "setup", "--admin", "root") for _ in range(2)]
        release = ""
        if all(run.returncode == 0 for run in runs[1:]):
            release = published(fab(host, settings, "publish"))
        yield Live(host, pebble, settings, tmp, ports, runs, release)
    finally:
        if pebble is not None:
            pebble.stop()
        host.stop()


def running(host: DebianHost, pidfile: str) -> bool:
    path = host.path(pidfile)
    return path.is_file() and int(path.read_text().split()[0]) in host.pids()


def test_setup_provisions_a_bare_host_idempotently_and_publish_serves_it(live):
    host, (failed, rerun, again) = live.host, live.setup
    assert failed.returncode != 0, failed.stdout
    error = "error: balancer: setup: haproxy: echo no haproxy >&2; exit 3 failed: exit 3: "
    assert failed.stderr.startswith(error), failed.stderr
    assert failed.stderr.rstrip().endswith("| no haproxy"), failed.stderr
    assert re.search(r"web1 +setup +changed: installed nginx .*brotli.*sudo", failed.stdout), (
        failed.stdout
    )
    assert running(host, "/run/nginx.pid")

    # The rerun completed it: haproxy started with the bootstrap certificate, then certbot
    # got the real one from the CA and haproxy took it through its runtime API.
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert re.search(r"web1 +setup +no change", rerun.stdout), rerun.stdout
    assert re.search(
        r"balancer +setup +changed: haproxy reloaded, deploy hook \S+, "
        r"certbot: new certificate, serving serial \w+ \(runtime API\)",
        rerun.stdout,
    ), rerun.stdout
    assert running(host, "/run/haproxy.pid")

    # What it left: the deploy account may run exactly the deploy's commands as root.
    sudoers = host.path("/etc/sudoers.d/blog-backend")
    assert stat.S_IMODE(sudoers.stat().st_mode) == 0o440
    assert sudoers.read_text().splitlines()[1:] == [
        "deploy ALL=(root) NOPASSWD: /usr/sbin/nginx -t -c /srv/blog/nginx/test.conf",
        f"deploy ALL=(root) NOPASSWD: {UNITCTL} reload nginx",
    ]
    assert (
        "/usr/bin/socat -t 10 - UNIX-CONNECT\\:/run/haproxy/admin.sock"
        in host.path("/etc/sudoers.d/blog-balancer").read_text()
    )
    checked = host.run("visudo -c")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "CONFIG=/etc/haproxy/blog" in host.path("/etc/default/haproxy").read_text().splitlines()
    assert not host.path("/etc/nginx/sites-enabled/default").exists()
    pem = host.path(PEM)
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    assert pem.read_text().count("BEGIN CERTIFICATE") == 2  # the leaf and pebble's intermediate

    # A second complete run changes nothing (the certificate is not due), and says so.
    assert again.returncode == 0, again.stdout + again.stderr
    assert re.search(r"web1 +setup +no change", again.stdout), again.stdout
    assert re.search(r"balancer +setup +no change", again.stdout), again.stdout

    # The deploy account published through what setup allowed; the site is served over
    # HTTPS with a certificate that chains to the CA's root and names the site.
    cafile = live.root_ca()
    assert served(live.ports["https"], "/healthz.txt", cafile) == live.release
    assert "<title>" in served(live.ports["https"], "/", cafile)
    assert served_serial(live, cafile) == pem_serial(pem)

    # `fab status` (as the deploy account) reads the certificate haproxy serves.
    status = fab(host, live.settings, "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"certificate {PEM} (haproxy on the balancer): {SITE_HOST}, {ALIAS}\n" in status.stdout
    assert re.search(r"^  expires \S+ \S+ UTC, \d{3,} days left$", status.stdout, re.M), (
        status.stdout
    )
    # The port-80 route sends everything but ACME challenges to https.
    assert "301" in plain_http(live.ports["http"], "/")


def served(port: int, path: str, cafile: Path) -> str:
    """GET through the host's haproxy over HTTPS, checking its certificate for the site's name."""
    argv = ["curl", "-fsS", "--max-time", "10", "--cacert", str(cafile)]
    argv += ["--resolve", f"{SITE_HOST}:{port}:{ADDRESS}", f"https://{SITE_HOST}:{port}{path}"]
    result = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def plain_http(port: int, path: str) -> str:
    """The status line haproxy's port 80 answers `path` with."""
    argv = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10"]
    argv += ["-H", f"Host: {SITE_HOST}", f"http://{ADDRESS}:{port}{path}"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout


def pem_serial(pem: Path) -> str:
    """The serial number of the first certificate in `pem`, as openssl prints it."""
    argv = ["openssl", "x509", "-noout", "-serial", "-in", str(pem)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True)
    return result.stdout.strip().removeprefix("serial=")


def https_context(cafile: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cafile))


def served_serial(live: Live, cafile: Path) -> str:
    """The serial of the certificate haproxy presents to a new connection for the site."""
    with socket_to(live.ports["https"], https_context(cafile)) as tls:
        return tls.getpeercert()["serialNumber"]


def socket_to(port: int, context: ssl.SSLContext) -> ssl.SSLSocket:
    sock = socket.create_connection((ADDRESS, port), timeout=10)
    return context.wrap_socket(sock, server_hostname=SITE_HOST)


class TlsLoad(threading.Thread):
    """GET /healthz.txt over HTTPS through haproxy, a new TLS connection every `per_connection`
    requests, until stopped; bounded by `max_seconds` and `max_requests`. Counts answers other
    than 200 (and errors) and the certificate serials it was served."""

    def __init__(self, port: int, cafile: Path, *, max_seconds: float = 30, max_requests=5000):
        super().__init__(daemon=True)
        self.port, self.context = port, https_context(cafile)
        self.max_seconds, self.max_requests = max_seconds, max_requests
        self.per_connection = 5
        self.requests = 0
        self.failures: Counter[str] = Counter()
        self.serials: list[str] = []
        self._stop_asked = threading.Event()

    def stop(self) -> None:
        self._stop_asked.set()
        self.join(self.max_seconds + 10)

    def _connection(self) -> http.client.HTTPSConnection:
        conn = http.client.HTTPSConnection(SITE_HOST, self.port, context=self.context, timeout=10)
        conn.sock = socket_to(self.port, self.context)
        self.serials.append(conn.sock.getpeercert()["serialNumber"])
        return conn

    def run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        while not self._stop_asked.is_set() and self.requests < self.max_requests:
            if time.monotonic() > deadline:
                break
            try:
                conn = self._connection()
            except OSError as error:
                self.requests += 1
                self.failures[f"connect: {type(error).__name__}: {error}"] += 1
                continue
            for _ in range(self.per_connection):
                self.requests += 1
                try:
                    conn.request("GET", "/healthz.txt")
                    response = conn.getresponse()
                    response.read()
                    if response.status != 200:
                        self.failures[f"status {response.status}"] += 1
                except (OSError, http.client.HTTPException) as error:
                    self.failures[f"{type(error).__name__}: {error}"] += 1
                    break
            conn.close()


def timer_renewal(host: DebianHost) -> subprocess.CompletedProcess[str]:
    """What Debian's certbot.timer runs (certbot.service's ExecStart, with the Environment of
    its drop-ins), told to renew now: there is no systemd in the root."""
    unit = host.path("/lib/systemd/system/certbot.service").read_text()
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    environment = [
        line.removeprefix("Environment=")
        for dropin in sorted(host.path("/etc/systemd/system/certbot.service.d").glob("*.conf"))
        for line in dropin.read_text().splitlines()
        if line.startswith("Environment=")
    ]
    command = " ".join(
        ["env", *environment, exec_start.removeprefix("ExecStart="), "--force-renewal"]
    )
    return host.run(command, timeout=120)


def test_renewal_under_load_swaps_the_certificate_without_a_failed_request(live):
    cafile = live.root_ca()
    old = served_serial(live, cafile)
    loads = [TlsLoad(live.ports["https"], cafile) for _ in range(4)]
    for load in loads:
        load.start()
    time.sleep(1)
    renewal = timer_renewal(live.host)
    time.sleep(1)
    for load in loads:
        load.stop()
    assert renewal.returncode == 0, renewal.stdout + renewal.stderr
    new = pem_serial(live.host.path(PEM))
    requests = sum(load.requests for load in loads)
    failures = sum((load.failures for load in loads), Counter())
    seen = Counter(serial for load in loads for serial in load.serials)
    print(
        f"renewal under load: {requests} requests, {sum(seen.values())} TLS handshakes, "
        f"{sum(failures.values())} failed; serials served: {dict(seen)}"
    )
    assert not failures, failures
    assert requests > 100
    assert new != old
    # Both were served during the run, and a new connection now gets the new one.
    assert seen[old] > 0 and seen[new] > 0, seen
    assert served_serial(live, cafile) == new


def install_in_haproxy(host: DebianHost, lineage: str) -> subprocess.CompletedProcess[str]:
    """What `fab certificate` and the renewal hook run: `lineage`'s certificate, checked, into
    the running haproxy through its runtime API, and over PEM."""
    install = scripts.command(
        "install_pem",
        lineage=lineage,
        pem=PEM,
        socket="/run/haproxy/admin.sock",
        names=[SITE_HOST, ALIAS],
    )
    return host.run(install)


def short_lived_certificate(host: DebianHost, folder: str, days: int) -> Path:
    """A self-signed certificate for the site's names, valid `days`, written into `folder` on
    the host as certbot's fullchain.pem and privkey.pem; returns the certificate here."""
    host.path(folder).mkdir(parents=True, exist_ok=True)
    certificate = host.path(f"{folder}/fullchain.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", str(days), "-subj", f"/CN={SITE_HOST}",
         "-addext", f"subjectAltName=DNS:{SITE_HOST},DNS:{ALIAS}",
         "-keyout", str(host.path(f"{folder}/privkey.pem")), "-out", str(certificate)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return certificate


def test_check_and_status_warn_about_a_certificate_haproxy_serves_with_under_14_days_left(live):
    cafile = live.root_ca()
    before = served_serial(live, cafile)
    # Valid for 3 days (2 whole days left), installed the way a renewal is.
    short = short_lived_certificate(live.host, "/root/short-lived", days=3)
    installed = install_in_haproxy(live.host, "/root/short-lived")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    try:
        assert served_serial(live, short) != before
        check = fab(live.host, live.settings, "check")
        status = fab(live.host, live.settings, "status")
    finally:
        restored = install_in_haproxy(live.host, f"/etc/letsencrypt/live/{SITE_HOST}")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert served_serial(live, cafile) == before

    # A warning, not a failure: the generated config is fine.
    assert check.returncode == 0, check.stdout + check.stderr
    assert (
        f"ok   certificate {PEM} (haproxy on the balancer): {SITE_HOST}, {ALIAS}\n     expires "
    ) in check.stdout, check.stdout
    warning = r" UTC, 2 days left  WARNING: under 14 days left$"
    assert re.search(r"^     expires \S+ \S+" + warning, check.stdout, re.M), check.stdout
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"certificate {PEM} (haproxy on the balancer): {SITE_HOST}, {ALIAS}\n" in status.stdout
    assert re.search(r"^  expires \S+ \S+" + warning, status.stdout, re.M), status.stdout


def test_status_and_check_read_each_certificate_in_the_standalone_role(live):
    # nginx terminates TLS on each backend: its certificate (NGINX_TLS_CERTIFICATE's default
    # path, 9 whole days left) is served beside haproxy's.
    short_lived_certificate(live.host, "/etc/ssl/blog", days=10)
    settings = live.tmp / "standalone.py"
    acme = live.pebble.directory_url, live.ports["acme"]
    write_settings(settings, live.tmp, live.host, live.ports, acme)
    with settings.open("a") as more:
        more.write("NGINX_ROLE = 'standalone'\n")
    status = fab(live.host, settings, "status")
    check = fab(live.host, settings, "check")

    assert status.returncode == 0, status.stdout + status.stderr
    days_left = dict(
        re.findall(r"^certificate (.*)\n  expires \S+ \S+ UTC, (.*)$", status.stdout, re.M)
    )
    haproxys = f"{PEM} (haproxy on the balancer): {SITE_HOST}, {ALIAS}"
    nginxs = f"/etc/ssl/blog/fullchain.pem (nginx on web1): {SITE_HOST}, {ALIAS}"
    assert list(days_left) == [haproxys, nginxs], status.stdout
    assert re.fullmatch(r"\d{3,} days left", days_left[haproxys]), status.stdout
    assert days_left[nginxs] == "9 days left  WARNING: under 14 days left", status.stdout
    assert check.returncode == 0, check.stdout + check.stderr
    assert (
        f"ok   certificate /etc/ssl/blog/fullchain.pem (nginx on web1): {SITE_HOST}, {ALIAS}\n"
        "     expires "
    ) in check.stdout, check.stdout


def test_a_rate_limited_issuance_names_the_domain_and_the_cas_words(live):
    cafile = live.root_ca()
    pem = live.host.path(PEM)
    before, serial = pem.read_bytes(), served_serial(live, cafile)
    ca = start_rate_limited_ca(live.pebble)
    # Its own settings file: the later tests keep pebble's directory.
    settings = live.tmp / "rate-limited.py"
    write_settings(
        settings, live.tmp, live.host, live.ports, (ca.directory_url, live.ports["acme"])
    )
    try:
        limited = fab(live.host, settings, "certificate", "--renew")
    finally:
        ca.stop()
    assert limited.returncode == 1, limited.stdout + limited.stderr
    assert ca.refused == 1
    error = limited.stderr.strip().splitlines()[-1]
    assert error.startswith(
        f"error: balancer: certificate for {SITE_HOST}, {ALIAS} failed: certbot (exit 1) at "
        f"{ca.directory_url}: "
    ), error
    # The CA's own words (Debian 12's certbot says only "AttributeError: can't set attribute").
    assert RATE_LIMITED in error and DETAIL in error, error
    assert pem.read_bytes() == before
    assert served_serial(live, cafile) == serial


def test_a_failed_issuance_names_the_domain_and_keeps_the_old_certificate(live):
    cafile = live.root_ca()
    pem = live.host.path(PEM)
    before, serial = pem.read_bytes(), served_serial(live, cafile)
    # The CA's DNS now sends the challenge for the site's name where nothing listens.
    live.pebble.answer_for(SITE_HOST, "127.0.0.9")
    try:
        failed = fab(live.host, live.settings, "certificate", "--renew")
    finally:
        live.pebble.clear(SITE_HOST)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    error = failed.stderr.strip().splitlines()[-1]
    assert error.startswith(
        f"error: balancer: certificate for {SITE_HOST}, {ALIAS} failed: certbot (exit 1) at "
        f"{live.pebble.directory_url}: "
    ), error
    # The CA's own words: which domain, and why its validation failed.
    assert f"Domain: {SITE_HOST}" in error, error
    assert "127.0.0.9" in error and "connection refused" in error.lower(), error
    assert pem.read_bytes() == before
    assert served_serial(live, cafile) == serial

    # The CA down: the same, with the error certbot's client met.
    live.pebble.stop()
    down = fab(live.host, live.settings, "certificate", "--renew")
    assert down.returncode == 1, down.stdout + down.stderr
    error = down.stderr.strip().splitlines()[-1]
    assert error.startswith(f"error: balancer: certificate for {SITE_HOST}, {ALIAS} failed"), error
    assert (
        "An unexpected error occurred: | ValueError: Requesting localhost/dir: Connection refused"
        in error
    ), error
    assert pem.read_bytes() == before
    assert served_serial(live, cafile) == serial
