"""A whole deploy target on loopback: sshd, nginx backends, haproxy, and `fab` pointed at them.

`start_stack(tmp, backends=2)` does what an operator would on fresh machines:
- one test sshd listening on 127.0.0.1 (the balancer) and 127.0.0.2, 127.0.0.3, ... (backends);
- a settings file that imports publishconf.py and points BACKENDS/BALANCER, ports, reload and
  test commands, content, output and build folders at this temp tree;
- `fab setup`, then nginx per backend (its main conf includes the file `setup` wrote), a
  first build's haproxy.cfg installed and haproxy started with a self-signed certificate.
It does not publish: tests call `stack.fab("publish")` themselves. `stop()` stops every
process it started, by PID.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

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
            f"HAPROXY_HTTP_PORT = {free_port()}\n"
            f"HAPROXY_HTTPS_PORT = {self.https_port}\n"
            f"HAPROXY_STATS_PORT = {free_port()}\n"
            f"HAPROXY_TLS_PEM = {str(self.haproxy_dir / 'site.pem')!r}\n"
            f"DEPLOY_NGINX_INCLUDE_FILE = {str(self.tmp / 'include' / '{name}.conf')!r}\n"
            "DEPLOY_DRAIN_TIMEOUT = 10\n"
            "DEPLOY_HEALTH_TIMEOUT = 20\n"
            "DEPLOY_RELEASES_KEPT = 3\n" + "".join(f"{line}\n" for line in self.extra_settings)
        )

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
