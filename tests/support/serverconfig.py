"""Building serverconfig models from settings in tests, and checking them with real binaries.

`make_site(**overrides)` runs the plugin's own settings validation on a small, complete
settings dict, so tests exercise exactly what a build does. `check_nginx` / `check_haproxy`
write a site's rendered files under a temp dir with a main conf from tests/support/servers.py
and run the real `nginx -t` / `haproxy -c`: the system's (Debian 12), or with `newer`, Debian
13's (tests/support/trixie.py).
"""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path
from typing import Any

from plugins.serverconfig import haproxy, nginx
from plugins.settings.redirects import Redirect
from plugins.settings.site import Site, site_from_settings
from tests.support import servers, trixie

STATS_USER = "statsreader"
STATS_PASSWORD = "correct-horse-battery-staple"

BASE_SETTINGS: dict[str, Any] = {
    "SITEURL": "https://blog.example.org",
    "RELEASE_ID": "20260101T000000Z",
    "BACKENDS": [
        {
            "name": "web1",
            "address": "10.0.0.11",
            "port": 80,
            "h2_port": 81,
            "root": "/srv/blog",
            "ssh_host": "web1.example.org",
        },
        {
            "name": "web2",
            "address": "10.0.0.12",
            "port": 80,
            "h2_port": 81,
            "root": "/srv/blog",
            "ssh_host": "web2.example.org",
        },
    ],
    "BALANCER": {"address": "10.0.0.10", "ssh_host": "lb.example.org"},
}

# Backends on the balancer's machine, reached over UNIX sockets.
SOCKET_BACKENDS = [
    {**backend, "socket": f"/run/nginx-blog/{backend['name']}.sock"}
    | {"h2_socket": f"/run/nginx-blog/{backend['name']}-h2.sock"}
    for backend in BASE_SETTINGS["BACKENDS"]
]

REDIRECTS = (
    Redirect("/2013/07/haproxy-stats/", "/2013/07/19/haproxy-stats/", "test"),
    Redirect("/old-about/", "/about/", "test"),
)


def make_site(redirects: tuple[Redirect, ...] = (), **overrides: Any) -> Site:
    """A validated model from BASE_SETTINGS with `overrides` applied."""
    site = site_from_settings({**BASE_SETTINGS, **overrides})
    return dataclasses.replace(site, redirects=redirects)


def render(site: Site) -> dict[str, str]:
    """Every file the plugin would write for `site`."""
    return {**nginx.render(site), **haproxy.render(site)}


# The golden cases the issue asks for; tests/golden/serverconfig/<name>/ holds their output.
GOLDEN_CASES: dict[str, dict[str, Any]] = {
    "nginx-1.4-spdy-pagespeed": {
        "NGINX_VERSION": "1.4",
        "NGINX_ROLE": "standalone",
        "NGINX_PAGESPEED": True,
        "NGINX_BROTLI_STATIC": False,
    },
    "nginx-1.22-backend-tcp": {"NGINX_VERSION": "1.22", "HAPROXY_TOPOLOGY": "tcp"},
    "nginx-1.22-standalone-tls": {
        "NGINX_ROLE": "standalone",
        "NGINX_TLS_TRUSTED_CERTIFICATE": "/etc/ssl/blog/chain.pem",
        "NGINX_SERVER_ALIASES": ["blog.example.net"],
        "NGINX_WWW_REDIRECT": "to-www",
    },
    "nginx-1.27-http3": {
        "NGINX_VERSION": "1.27",
        "NGINX_ROLE": "standalone",
        "NGINX_HTTP3": True,
        "NGINX_TLS_PROFILE": "modern",
    },
    "haproxy-1.5-tcp-npn": {
        "HAPROXY_VERSION": "1.5",
        "HAPROXY_TOPOLOGY": "tcp",
        "HAPROXY_NPN": True,
        "NGINX_VERSION": "1.4",
    },
    "nginx-1.22-backend-sockets": {"BACKENDS": SOCKET_BACKENDS, "HAPROXY_TOPOLOGY": "tcp"},
    "haproxy-2.6-tcp-sockets": {"BACKENDS": SOCKET_BACKENDS, "HAPROXY_TOPOLOGY": "tcp"},
    "haproxy-2.6-http-sockets": {
        "BACKENDS": [{k: v for k, v in b.items() if k != "h2_socket"} for b in SOCKET_BACKENDS]
    },
    "haproxy-2.6-http": {
        "HAPROXY_STATS_USER": STATS_USER,
        "HAPROXY_STATS_PASSWORD": STATS_PASSWORD,
        "HAPROXY_STATS_REQUIRED": True,
    },
}


def golden_files(name: str) -> dict[str, str]:
    """The files of one golden case: nginx cases keep nginx/, haproxy cases haproxy/."""
    site = make_site(REDIRECTS, **GOLDEN_CASES[name])
    kind = name.split("-", 1)[0]
    return {path: text for path, text in render(site).items() if path.startswith(kind + "/")}


def local_settings(
    tmp: Path, pem: Path, *, sockets: bool = False, **overrides: Any
) -> dict[str, Any]:
    """Settings whose every path and port is real on this machine, under `tmp`; with
    `sockets`, haproxy reaches the backends over UNIX sockets (h2 ones in the tcp topology)."""
    tcp = overrides.get("HAPROXY_TOPOLOGY") == "tcp"
    backends = [
        {
            "name": f"web{i}",
            "address": f"127.0.0.{i + 1}",
            "port": servers.free_port(f"127.0.0.{i + 1}"),
            "h2_port": servers.free_port(f"127.0.0.{i + 1}"),
            "root": str(tmp / f"srv{i}"),
        }
        | ({"socket": str(tmp / f"web{i}.sock")} if sockets else {})
        | ({"h2_socket": str(tmp / f"web{i}-h2.sock")} if sockets and tcp else {})
        for i in (1, 2)
    ]
    return {
        "BACKENDS": backends,
        "BALANCER": {
            "address": "127.0.0.1",
            "runtime_socket": str(tmp / "haproxy-admin.sock"),
        },
        "NGINX_TLS_CERTIFICATE": str(pem),
        "NGINX_TLS_CERTIFICATE_KEY": str(pem),
        "NGINX_ACME_ROOT": str(tmp / "acme"),
        "NGINX_HTTPS_PORT": servers.free_port(),
        "HAPROXY_BIND_ADDRESS": "127.0.0.1",
        "HAPROXY_HTTP_PORT": servers.free_port(),
        "HAPROXY_HTTPS_PORT": servers.free_port(),
        "HAPROXY_STATS_PORT": servers.free_port(),
        "HAPROXY_TLS_PEM": str(pem),
        **overrides,
    }


def write_files(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def check_nginx(
    site: Site, tmp: Path, *, newer: trixie.Binaries | None = None
) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on every vhost of `site`, together, as one nginx would include them."""
    build = tmp / "build"
    write_files(build, nginx.render(site))
    vhosts = sorted(build.glob("nginx/*/site.conf"))
    if newer is None:
        conf = servers.write_nginx_main_conf(tmp / "nginx", vhosts, brotli=site.nginx.brotli)
        return servers.nginx_test(conf, tmp / "nginx")
    conf = servers.write_nginx_main_conf(
        tmp / "nginx", vhosts, brotli=site.nginx.brotli, brotli_module=newer.brotli_module
    )
    return servers.nginx_test(conf, tmp / "nginx", nginx=newer.nginx)


def check_haproxy(
    site: Site, tmp: Path, *, newer: trixie.Binaries | None = None
) -> subprocess.CompletedProcess[str]:
    """`haproxy -c` on the rendered haproxy.cfg."""
    build = tmp / "build"
    write_files(build, haproxy.render(site))
    config = [build / "haproxy" / "haproxy.cfg"]
    if newer is None:
        return servers.haproxy_check(config)
    return servers.haproxy_check(config, haproxy=newer.haproxy)
