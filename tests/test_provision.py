"""`fab setup` on a bare Debian 12 host, for real: apt inside a debootstrap root, over SSH.

One host plays both roles (the one-server setup): an nginx backend and the haproxy balancer.
There is no systemd in the root, so the start and reload commands are settings that run the
tests' stand-in (tests/support/files/unitctl) the way Debian's units would.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.tasks.setup import sudoers_lines
from tests.support.debian_host import DebianHost, start_debian_host
from tests.support.deploy_stack import published
from tests.support.servers import free_port
from tests.support.site import REPO, TEST_STATS_ENV

FAB = Path(sys.executable).parent / "fab"
ADDRESS = "127.0.0.40"
SITE_HOST = "blog.example.org"
UNITCTL = "/usr/local/sbin/unitctl"

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


def write_settings(path: Path, tmp: Path, host: DebianHost, ports: dict[str, int], **extra: str):
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
    )


def fab(host: DebianHost, settings: Path, *args: str) -> subprocess.CompletedProcess[str]:
    task, *rest = args
    argv = [str(FAB), "-r", str(REPO), "-S", str(host.ssh_config), "-i", str(host.identity)]
    return subprocess.run(
        [*argv, task, "--settings", str(settings), *rest],
        cwd=REPO,
        env={**os.environ, **TEST_STATS_ENV},
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture
def bare_host(tmp_path):
    host = start_debian_host(tmp_path / "host", ADDRESS)
    shutil.copy(REPO / "tests/support/files/unitctl", host.path(UNITCTL))
    yield host
    host.stop()


def running(host: DebianHost, pidfile: str) -> bool:
    path = host.path(pidfile)
    return path.is_file() and int(path.read_text().split()[0]) in host.pids()


def test_setup_provisions_a_bare_host_idempotently_and_publish_serves_it(bare_host, tmp_path):
    host = bare_host
    ports = {name: free_port(ADDRESS) for name in ("nginx", "http", "https", "stats")}
    settings = tmp_path / "hostconf.py"
    # A first run that fails midway: haproxy does not start.
    write_settings(
        settings, tmp_path, host, ports, haproxy_start_command="echo no haproxy >&2; exit 3"
    )
    failed = fab(host, settings, "setup", "--admin", "root")
    assert failed.returncode != 0, failed.stdout
    error = "error: balancer: setup: haproxy: echo no haproxy >&2; exit 3 failed: exit 3: "
    assert failed.stderr.startswith(error), failed.stderr
    assert failed.stderr.rstrip().endswith("| no haproxy"), failed.stderr
    assert re.search(r"web1 +setup +changed: installed nginx .*brotli.*sudo", failed.stdout), (
        failed.stdout
    )
    assert running(host, "/run/nginx.pid")
    assert not running(host, "/run/haproxy.pid")

    # The rerun completes it.
    write_settings(settings, tmp_path, host, ports)
    rerun = fab(host, settings, "setup", "--admin", "root")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert re.search(r"web1 +setup +no change", rerun.stdout), rerun.stdout
    assert re.search(r"balancer +setup +changed: haproxy reloaded", rerun.stdout), rerun.stdout
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
    pem = host.path("/etc/haproxy/certs/blog.pem")
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600

    # A second complete run changes nothing, and says so per host.
    again = fab(host, settings, "setup", "--admin", "root")
    assert again.returncode == 0, again.stdout + again.stderr
    assert re.search(r"web1 +setup +no change", again.stdout), again.stdout
    assert re.search(r"balancer +setup +no change", again.stdout), again.stdout

    # The deploy account publishes through what setup allowed, and the site is served.
    result = fab(host, settings, "publish")
    release = published(result)
    cert = tmp_path / "cert.pem"
    cert.write_text(pem.read_text().split("-----BEGIN PRIVATE KEY-----")[0])
    assert served(ports["https"], "/healthz.txt", cert) == release
    assert "<title>" in served(ports["https"], "/", cert)

    # `fab status` (as the deploy account) reads the certificate haproxy serves.
    status = fab(host, settings, "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "certificate /etc/haproxy/certs/blog.pem: blog.example.org\n" in status.stdout
    assert re.search(r"^  expires \S+ \S+ UTC, 29 days left$", status.stdout, re.M), status.stdout


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
