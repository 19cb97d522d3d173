"""End to end on loopback: the publish build served by nginx (two backends, the emitted vhosts)
behind haproxy (the emitted haproxy.cfg, a self-signed certificate), in both topologies."""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import servers
from tests.support.serverconfig import STATS_PASSWORD, STATS_USER, local_settings
from tests.support.site import REPO, build_site

pytestmark = pytest.mark.servers

HOST = "blog.example.org"
POST = "/2013/07/19/haproxy-stats/"
OLD_PATHS = ("/2013/07/haproxy-stats/", "/haproxy-stats.html")
# A client address the backends can only learn from haproxy.
CLIENT_ADDRESS = "127.0.0.9"


@dataclass(frozen=True)
class Stack:
    """A running nginx + haproxy pair serving one build."""

    topology: str
    output: Path
    settings: dict
    nginx_prefix: Path

    @property
    def https(self) -> int:
        return self.settings["HAPROXY_HTTPS_PORT"]

    @property
    def http(self) -> int:
        return self.settings["HAPROXY_HTTP_PORT"]

    @property
    def stats(self) -> int:
        return self.settings["HAPROXY_STATS_PORT"]


@dataclass(frozen=True)
class Response:
    status: int
    version: str
    headers: dict[str, str]
    body: bytes


def curl(url: str, port: int, *args: str) -> Response:
    """One request with curl, resolving HOST to haproxy on 127.0.0.1."""
    result = subprocess.run(
        [
            "curl", "-sk", "--max-time", "10", "--resolve", f"{HOST}:{port}:127.0.0.1",
            "--interface", CLIENT_ADDRESS, "-D", "-", "-o", "-", *args, url,
        ],
        capture_output=True,
        timeout=30,
        check=True,
    )  # fmt: skip
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    version, status = lines[0].split(" ")[:2]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Response(int(status), version, headers, body)


def _content_with_redirects(tmp: Path) -> Path:
    content = tmp / "content"
    shutil.copytree(REPO / "content", content)
    post = content / "2013-07-19-haproxy-stats.rst"
    text = post.read_text()
    text = text.replace(
        ":slug: haproxy-stats\n",
        f":slug: haproxy-stats\n:redirect_from: {', '.join(OLD_PATHS)}\n",
        1,
    )
    assert ":redirect_from:" in text
    post.write_text(text)
    return content


def _server_states(stack: Stack) -> dict[tuple[str, str], str]:
    """{(backend, server): status} from haproxy's stats CSV."""
    body = curl(
        f"http://127.0.0.1:{stack.stats}/;csv", stack.stats, "-u", f"{STATS_USER}:{STATS_PASSWORD}"
    ).body.decode()
    rows = [line.split(",") for line in body.splitlines() if line.startswith("be_")]
    return {(row[0], row[1]): row[17] for row in rows if row[1] != "BACKEND"}


def _wait_until_checked(stack: Stack, deadline: float) -> None:
    # haproxy assumes servers up until their first checks; wait for every check to pass.
    while True:
        states = _server_states(stack)
        if states and all(state == "UP" for state in states.values()):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"haproxy never saw every server pass its check: {states}")
        time.sleep(0.2)


# Each topology with haproxy reaching nginx over TCP, and over UNIX sockets (one machine).
@pytest.fixture(scope="module", params=["http", "tcp", "http-sockets", "tcp-sockets"])
def stack(request, tmp_path_factory) -> Iterator[Stack]:
    topology, _, sockets = request.param.partition("-")
    tmp = tmp_path_factory.mktemp(f"e2e-{request.param}")
    pem = servers.self_signed_pem(tmp / "tls", [HOST])
    settings = local_settings(tmp, pem, sockets=bool(sockets), HAPROXY_TOPOLOGY=topology)
    build = build_site(
        tmp / "build", "publishconf.py", content=_content_with_redirects(tmp), extra=settings
    )
    for backend in settings["BACKENDS"]:
        root = Path(backend["root"])
        root.mkdir(parents=True)
        (root / "current").symlink_to(build.output)
    vhosts = sorted(build.deploy_build.glob("nginx/*/site.conf"))
    assert len(vhosts) == 2
    prefix = tmp / "nginx"
    conf = servers.write_nginx_main_conf(prefix, vhosts)
    listening = [(b["address"], b["port"]) for b in settings["BACKENDS"]]
    nginx = servers.start_nginx(conf, prefix, wait_for=listening)
    haproxy = None
    try:
        haproxy = servers.start_haproxy(
            [build.deploy_build / "haproxy" / "haproxy.cfg"],
            tmp / "haproxy",
            wait_for=[("127.0.0.1", settings["HAPROXY_HTTPS_PORT"])],
        )
        result = Stack(topology, build.output, settings, prefix)
        _wait_until_checked(result, time.monotonic() + 20)
        yield result
    finally:
        if haproxy is not None:
            servers.stop(haproxy)
        servers.stop(nginx)


def test_h2_is_negotiated_and_a_post_served(stack):
    response = curl(f"https://{HOST}:{stack.https}{POST}", stack.https, "--http2")
    assert response.status == 200
    assert response.version == "HTTP/2"
    assert b"statistics page" in response.body


def test_http1_clients_are_served_too(stack):
    response = curl(f"https://{HOST}:{stack.https}{POST}", stack.https, "--http1.1")
    assert (response.status, response.version) == (200, "HTTP/1.1")


def test_plain_http_redirects_to_https(stack):
    response = curl(f"http://{HOST}:{stack.http}{POST}?x=1", stack.http)
    assert response.status == 301
    assert re.match(
        rf"https://{re.escape(HOST)}(:\d+)?{re.escape(POST)}\?x=1$", response.headers["location"]
    )


def test_unknown_path_gets_the_404_page(stack):
    response = curl(f"https://{HOST}:{stack.https}/no/such/page/", stack.https, "--http2")
    assert response.status == 404
    assert response.body == (stack.output / "404.html").read_bytes()
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "strict-transport-security" in response.headers


@pytest.mark.parametrize("old", OLD_PATHS)
def test_redirect_from_gets_a_301_to_the_post(stack, old):
    response = curl(f"https://{HOST}:{stack.https}{old}", stack.https, "--http2")
    assert response.status == 301
    assert response.headers["location"] == POST


def test_security_headers(stack):
    headers = curl(f"https://{HOST}:{stack.https}/", stack.https, "--http2").headers
    assert headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"
    assert "camera=()" in headers["permissions-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "server" not in headers or "nginx/" not in headers["server"]


@pytest.mark.parametrize(("group", "accepted"), [("X25519", True), ("ffdhe8192", False)])
def test_only_mozillas_key_exchange_groups(stack, group, accepted):
    # ffdhe8192 costs haproxy ~120x the CPU of X25519 per handshake: a cheap way to load it.
    result = subprocess.run(
        [
            servers.OPENSSL, "s_client", "-connect", f"127.0.0.1:{stack.https}",
            "-servername", HOST, "-groups", group, "-brief",
        ],
        input=b"", capture_output=True, timeout=30,
    )  # fmt: skip
    assert (result.returncode == 0) == accepted, result.stderr.decode(errors="replace")


def _fingerprinted_css(output: Path) -> str:
    css = [p for p in output.rglob("*.css") if re.search(r"\.[0-9a-f]{10}\.css$", p.name)]
    assert css, "the publish build has no fingerprinted stylesheet"
    return "/" + css[0].relative_to(output).as_posix()


def test_cache_control_by_file_type(stack):
    def cache(path: str) -> str:
        return curl(f"https://{HOST}:{stack.https}{path}", stack.https).headers["cache-control"]

    assert cache(POST) == "no-cache"
    assert cache("/feeds/all.atom.xml") == "no-cache"
    assert cache(_fingerprinted_css(stack.output)) == "public, max-age=31536000, immutable"
    assert cache("/favicon.ico") == "public, max-age=604800"
    assert cache("/healthz.txt") == "no-store"


def test_feed_types(stack):
    response = curl(f"https://{HOST}:{stack.https}/feeds/all.atom.xml", stack.https)
    assert response.headers["content-type"] == "application/xml; charset=utf-8"


@pytest.mark.parametrize(
    ("accept", "expected"), [("br", "br"), ("gzip", "gzip"), ("br, gzip", "br")]
)
def test_precompressed_by_accept_encoding(stack, accept, expected):
    response = curl(
        f"https://{HOST}:{stack.https}{POST}", stack.https, "-H", f"Accept-Encoding: {accept}"
    )
    assert response.headers.get("content-encoding") == expected
    assert "Accept-Encoding" in response.headers["vary"]
    suffix = {"br": ".br", "gzip": ".gz"}[expected]
    assert response.body == (stack.output / POST.strip("/") / f"index.html{suffix}").read_bytes()


def test_identity_when_nothing_is_accepted(stack):
    response = curl(f"https://{HOST}:{stack.https}{POST}", stack.https, "-H", "Accept-Encoding:")
    assert "content-encoding" not in response.headers
    assert response.body == (stack.output / POST.strip("/") / "index.html").read_bytes()


@pytest.mark.parametrize("path", ["/.git/config", "/.env", "/theme/.DS_Store"])
def test_dotfiles_are_refused(stack, path):
    assert curl(f"https://{HOST}:{stack.https}{path}", stack.https).status == 403


def test_backends_see_the_client_address(stack):
    marker = f"/healthz.txt?client-{stack.topology}"
    curl(f"https://{HOST}:{stack.https}{marker}", stack.https)
    log = (stack.nginx_prefix / "logs" / "access.log").read_text()
    lines = [line for line in log.splitlines() if marker in line]
    assert lines and all(line.startswith(CLIENT_ADDRESS + " ") for line in lines), lines


def test_stats_require_credentials(stack):
    url = f"http://127.0.0.1:{stack.stats}/"
    assert curl(url, stack.stats).status == 401
    response = curl(url, stack.stats, "-u", f"{STATS_USER}:{STATS_PASSWORD}")
    assert response.status == 200
    assert b"web1" in response.body and b"web2" in response.body
    assert curl(url, stack.stats, "-u", f"{STATS_USER}:wrong-password-here").status == 401


def test_every_server_passes_its_health_check(stack):
    expected = {"http": {"be_web"}, "tcp": {"be_h2", "be_http1"}}[stack.topology]
    assert _server_states(stack) == {(be, web): "UP" for be in expected for web in ("web1", "web2")}


def test_backends_speak_the_topology_protocol(stack):
    # tcp: h2 clients reach nginx's h2 listener as h2; http: haproxy talks HTTP/1.1 to nginx.
    marker = f"/healthz.txt?protocol-{stack.topology}"
    curl(f"https://{HOST}:{stack.https}{marker}", stack.https, "--http2")
    log = (stack.nginx_prefix / "logs" / "access.log").read_text()
    lines = [line for line in log.splitlines() if marker in line]
    expected = {"http": "HTTP/1.1", "tcp": "HTTP/2.0"}[stack.topology]
    assert len(lines) == 1 and f'{marker} {expected}"' in lines[0], lines


def _connected_to(path: str) -> int:
    """Connections accepted on the UNIX socket at `path` that are open now (/proc/net/unix)."""
    rows = Path("/proc/net/unix").read_text().splitlines()[1:]
    # Num RefCount Protocol Flags Type St Inode Path: St 03 is connected.
    return sum(1 for row in rows if row.split()[5:6] == ["03"] and row.endswith(" " + path))


def test_haproxy_reaches_nginx_over_the_configured_listener(stack):
    sockets = [
        b[key] for b in stack.settings["BACKENDS"] for key in ("socket", "h2_socket") if key in b
    ]
    for path in sockets:
        assert stat.S_ISSOCK(Path(path).stat().st_mode), path
    listeners = [b["socket"] for b in stack.settings["BACKENDS"] if "socket" in b]
    # A request through haproxy on a connection kept open: haproxy's connection to the
    # backend that served it stays open too, and shows on that backend's socket.
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    with (
        socket.create_connection(("127.0.0.1", stack.https), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=HOST) as tls,
    ):
        tls.sendall(f"GET /healthz.txt HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
        assert tls.recv(65536).startswith(b"HTTP/1.1 200")
        in_use = sum(_connected_to(path) for path in listeners)
    # (haproxy may also keep idle connections from earlier requests: at least ours.)
    assert in_use >= 1 if listeners else in_use == 0, (listeners, in_use)


@pytest.mark.parametrize(
    ("path", "wasm"),
    [
        ("/search/", True),
        ("/search/?q=haproxy", True),
        ("/pagefind/pagefind-worker.js", True),
        ("/pagefind/pagefind-entry.json", True),
        ("/", False),
        (POST, False),
    ],
)
def test_only_search_may_compile_webassembly(stack, path, wasm):
    response = curl(f"https://{HOST}:{stack.https}{path}", stack.https)
    assert response.status == 200
    policy = response.headers["content-security-policy"]
    assert ("'wasm-unsafe-eval'" in policy) == wasm, policy
    assert "script-src 'self'" in policy and "'unsafe-eval'" not in policy
    assert response.headers["cache-control"] == "no-cache"
