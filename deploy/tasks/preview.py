"""`fab preview`: the publish build served on this machine the way the hosts serve it.

The settings' own site model, moved onto loopback: one backend (the first of BACKENDS) on a
free port serving output/ through the generated nginx vhost, haproxy in front of it with the
generated config on free HTTP and HTTPS ports and a throwaway self-signed certificate, no
stats page and no ACME route. Both run as the current user, everything under a temp folder;
Ctrl-C (SIGINT) stops both by PID.
"""

from __future__ import annotations

import dataclasses
import http.client
import os
import pwd
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from deploy.errors import DeployError
from deploy.inventory import Inventory
from deploy.tasks.check import make_throwaway_certificate
from plugins import contract
from plugins.serverconfig import haproxy, nginx
from plugins.settings.site import Site

ADDRESS = "127.0.0.1"
HOST = "localhost"


@dataclasses.dataclass
class Preview:
    """The running preview: its URL, its two servers, and where they keep their files."""

    url: str
    plain_url: str
    nginx: subprocess.Popen[bytes]
    haproxy: subprocess.Popen[bytes]
    work: Path

    def stop(self) -> None:
        for process in (self.haproxy, self.nginx):
            if process.poll() is None:
                process.terminate()
        for process in (self.haproxy, self.nginx):
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def preview_site(inventory: Inventory, work: Path, ports: tuple[int, int, int]) -> Site:
    """The settings' site on loopback: `ports` are nginx's, haproxy's HTTP and HTTPS."""
    site = inventory.site
    root = work / "backend"
    root.mkdir()
    (root / "current").symlink_to(inventory.output_path.resolve())
    backend = dataclasses.replace(
        site.backends[0],
        address=ADDRESS,
        port=ports[0],
        h2_port=None,
        socket=None,
        h2_socket=None,
        root=PurePosixPath(root),
    )
    balancer = dataclasses.replace(site.balancer, runtime_socket=PurePosixPath(work / "admin.sock"))
    front = dataclasses.replace(
        site.haproxy,
        topology="http",
        bind_address=ADDRESS,
        http_port=ports[1],
        https_port=ports[2],
        pem=str(work / "throwaway.pem"),
        stats=None,
    )
    return dataclasses.replace(
        site, backends=(backend,), balancer=balancer, haproxy=front, acme=None
    )


def start(inventory: Inventory, work: Path) -> Preview:
    """Render, check and start nginx and haproxy for the preview under `work`."""
    if not (inventory.output_path / "index.html").is_file():
        raise DeployError("local", "preview", "no build in output/: run `fab build --publish`")
    ports = (_free_port(), _free_port(), _free_port())
    site = preview_site(inventory, work, ports)
    make_throwaway_certificate(Path(site.haproxy.pem), site.names)
    vhost = work / "site.conf"
    vhost.write_text(nginx.vhost(site, site.backends[0]), encoding="utf-8")
    conf = work / "nginx.conf"
    conf.write_text(_nginx_main(inventory, work, vhost), encoding="utf-8")
    cfg = work / "haproxy.cfg"
    # No syslog here: haproxy's own lines go to its stderr.
    cfg.write_text(haproxy.config(site).replace("log /dev/log local0", "log stderr local0"))
    # nginx's own prefix: Debian's modules-enabled files name modules relative to it.
    nginx_process = _spawn(["nginx", "-c", str(conf)], work / "nginx.log")
    haproxy_process = _spawn(["haproxy", "-W", "-db", "-f", str(cfg)], work / "haproxy.log")
    preview = Preview(
        url=f"https://{site.host}:{ports[2]}/",
        plain_url=f"http://{site.host}:{ports[1]}/",
        nginx=nginx_process,
        haproxy=haproxy_process,
        work=work,
    )
    for name, port in (("nginx", ports[0]), ("haproxy", ports[2])):
        if not _listening(port, preview):
            preview.stop()
            log = (work / f"{name}.log").read_text(errors="replace").strip()
            raise DeployError("local", f"preview: {name}", log[-2000:] or "did not start")
    if not _healthy(site, ports[2]):
        preview.stop()
        raise DeployError("local", "preview", "haproxy never saw the backend healthy in 10 s")
    return preview


def _healthy(site: Site, port: int, timeout: float = 10) -> bool:
    """Whether haproxy's own health check of the backend passed: the health file answers 200."""
    context = ssl._create_unverified_context()  # the throwaway certificate
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn = http.client.HTTPSConnection(ADDRESS, port, timeout=2, context=context)
        try:
            conn.request("GET", f"/{contract.HEALTH_FILE}", headers={"Host": site.host})
            if conn.getresponse().status == 200:
                return True
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
        time.sleep(0.2)
    return False


def serve(inventory: Inventory, say: Callable[[str], None]) -> None:
    """Start the preview, print where it is, and run until SIGINT (or SIGTERM)."""
    with tempfile.TemporaryDirectory(prefix="blog-preview-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)  # nginx's workers (another user when run as root) read from here
        preview = start(inventory, work)
        stopping = []
        previous = signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
        try:
            say(f"nginx pid {preview.nginx.pid}, haproxy pid {preview.haproxy.pid}")
            say(f"serving {inventory.output_path} at {preview.url} (and {preview.plain_url})")
            port = urlsplit(preview.url).port
            say(f"  curl -k --resolve {inventory.site.host}:{port}:{ADDRESS} {preview.url}")
            say("Ctrl-C stops both")
            while not stopping and preview.nginx.poll() is None and preview.haproxy.poll() is None:
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            preview.stop()
            say("stopped nginx and haproxy")


def _nginx_main(inventory: Inventory, work: Path, vhost: Path) -> str:
    main = "".join(f"{line}\n" for line in inventory.deploy.nginx_test_main)
    http = "".join(f"    {line}\n" for line in inventory.deploy.nginx_test_http)
    temp = "".join(
        f"    {kind}_temp_path {work / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # Run as root, nginx's workers would drop to `nobody`: they serve as the build's owner.
    owner = inventory.output_path.stat().st_uid
    user = f"user {pwd.getpwuid(owner).pw_name};\n" if os.geteuid() == 0 else ""
    return (
        f"{main}{user}daemon off;\npid {work / 'nginx.pid'};\nerror_log stderr warn;\n"
        f"events {{}}\nhttp {{\n{http}    access_log off;\n{temp}    include {vhost};\n}}\n"
    )


def _spawn(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        # Its own process group: the terminal's Ctrl-C reaches only us, and we stop them.
        return subprocess.Popen(
            argv, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((ADDRESS, 0))
        return int(sock.getsockname()[1])


def _listening(port: int, preview: Preview, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if preview.nginx.poll() is not None or preview.haproxy.poll() is not None:
            return False
        try:
            with socket.create_connection((ADDRESS, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False
