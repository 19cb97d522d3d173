"""Every output for Debian's versions passes the real `nginx -t` and `haproxy -c` (Debian 12's
nginx 1.22 and haproxy 2.6, and Debian 13's nginx 1.26 and haproxy 3.0 for those branches), and
every nginx output survives a crossplane parse → build → parse round trip."""

from __future__ import annotations

import subprocess
from pathlib import Path

import crossplane
import pytest

from tests.support import servers, trixie
from tests.support.serverconfig import (
    GOLDEN_CASES,
    REDIRECTS,
    STATS_PASSWORD,
    STATS_USER,
    check_haproxy,
    check_nginx,
    golden_files,
    local_settings,
    make_site,
    render,
)

STATS = {
    "HAPROXY_STATS_USER": STATS_USER,
    "HAPROXY_STATS_PASSWORD": STATS_PASSWORD,
    "HAPROXY_STATS_REQUIRED": True,
}

NGINX_VARIANTS = {
    "backend-http": {},
    "backend-tcp": {"HAPROXY_TOPOLOGY": "tcp"},
    "backend-no-brotli-aliases": {
        "NGINX_BROTLI_STATIC": False,
        "NGINX_SERVER_ALIASES": ["blog.example.net", "www.blog.example.org"],
    },
    "backend-to-www": {"NGINX_WWW_REDIRECT": "to-www", "HAPROXY_TOPOLOGY": "tcp"},
    "backend-http-sockets": {"sockets": True},
    "backend-tcp-sockets": {"HAPROXY_TOPOLOGY": "tcp", "sockets": True},
    "standalone-intermediate-ocsp": {
        "NGINX_ROLE": "standalone",
        "NGINX_TLS_TRUSTED_CERTIFICATE": "PEM",
        "NGINX_WWW_REDIRECT": "to-www",
    },
    "standalone-modern": {"NGINX_ROLE": "standalone", "NGINX_TLS_PROFILE": "modern"},
}
HAPROXY_VARIANTS = {
    "http-stats": STATS,
    "http-no-stats": {},
    "http-plain-port": {"HAPROXY_HTTP_REDIRECT": False, **STATS},
    "tcp": {"HAPROXY_TOPOLOGY": "tcp", **STATS},
    "tcp-npn-plain-port": {
        "HAPROXY_TOPOLOGY": "tcp",
        "HAPROXY_NPN": True,
        "HAPROXY_HTTP_REDIRECT": False,
    },
    "http-sockets": {"sockets": True, **STATS},
    "tcp-sockets": {"HAPROXY_TOPOLOGY": "tcp", "sockets": True, **STATS},
    "http-npn-modern": {"HAPROXY_NPN": True, "HAPROXY_TLS_PROFILE": "modern", **STATS},
    "http-stats-off-loopback-tls": {**STATS, "HAPROXY_STATS_ADDRESS": "10.0.0.10"},
}


# Debian 13's branches: every variant above, plus what only they can do.
NEWER_NGINX_VARIANTS = {
    **{name: {"NGINX_VERSION": "1.26", **v} for name, v in NGINX_VARIANTS.items()},
    "standalone-http3-to-bare": {
        "NGINX_VERSION": "1.26",
        "NGINX_ROLE": "standalone",
        "NGINX_HTTP3": True,
        "SITEURL": "https://www.blog.example.org",
        "NGINX_WWW_REDIRECT": "to-bare",
    },
}
NEWER_HAPROXY_VARIANTS = {
    name: {"HAPROXY_VERSION": "3.0", **v} for name, v in HAPROXY_VARIANTS.items()
}


@pytest.fixture(scope="module")
def newer():
    return trixie.binaries()


@pytest.fixture(scope="module")
def pem(tmp_path_factory):
    return servers.self_signed_pem(tmp_path_factory.mktemp("tls"), ["blog.example.org"])


def _settings(tmp: Path, pem: Path, variant: dict) -> dict:
    overrides = {k: (str(pem) if v == "PEM" else v) for k, v in variant.items()}
    return local_settings(tmp, pem, **overrides)


@pytest.mark.servers
@pytest.mark.parametrize("name", sorted(NGINX_VARIANTS))
def test_nginx_accepts_vhosts(name, tmp_path, pem):
    site = make_site(REDIRECTS, **_settings(tmp_path, pem, NGINX_VARIANTS[name]))
    result = check_nginx(site, tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.servers
@pytest.mark.parametrize("name", sorted(HAPROXY_VARIANTS))
def test_haproxy_accepts_config(name, tmp_path, pem):
    site = make_site(REDIRECTS, **_settings(tmp_path, pem, HAPROXY_VARIANTS[name]))
    result = check_haproxy(site, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # -c -q stays quiet unless something is wrong; warnings are a smell too.
    assert "WARNING" not in result.stdout + result.stderr


@pytest.mark.servers
def test_newer_binaries_are_debian_13s(newer):
    nginx = subprocess.run([*newer.nginx, "-V"], capture_output=True, text=True, timeout=60)
    assert nginx.stderr.startswith("nginx version: nginx/1.26."), nginx.stderr
    assert "--with-http_v3_module" in nginx.stderr
    assert "running with OpenSSL 3.5." in nginx.stderr
    haproxy = subprocess.run([*newer.haproxy, "-vv"], capture_output=True, text=True, timeout=60)
    assert haproxy.stdout.startswith("HAProxy version 3.0."), haproxy.stdout
    assert "Running on OpenSSL version : OpenSSL 3.5." in haproxy.stdout


@pytest.mark.servers
@pytest.mark.parametrize("name", sorted(NEWER_NGINX_VARIANTS))
def test_nginx_1_26_accepts_vhosts(name, tmp_path, pem, newer):
    site = make_site(REDIRECTS, **_settings(tmp_path, pem, NEWER_NGINX_VARIANTS[name]))
    result = check_nginx(site, tmp_path, newer=newer)
    assert result.returncode == 0, result.stderr
    text = next((tmp_path / "build").glob("nginx/*/site.conf")).read_text()
    if site.nginx.role == "standalone":
        assert "    http2 on;" in text and "X25519MLKEM768:" in text
    assert ("quic reuseport;" in text) == site.nginx.http3


@pytest.mark.servers
@pytest.mark.parametrize("name", sorted(NEWER_HAPROXY_VARIANTS))
def test_haproxy_3_0_accepts_config(name, tmp_path, pem, newer):
    site = make_site(REDIRECTS, **_settings(tmp_path, pem, NEWER_HAPROXY_VARIANTS[name]))
    result = check_haproxy(site, tmp_path, newer=newer)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stdout + result.stderr
    text = (tmp_path / "build" / "haproxy" / "haproxy.cfg").read_text()
    assert "ssl-default-bind-curves X25519MLKEM768:" in text


@pytest.mark.servers
def test_debian_12s_binaries_refuse_what_only_the_newer_ones_know(tmp_path, pem):
    # The newer binaries above check something the default ones could not.
    site = make_site(**_settings(tmp_path, pem, NEWER_NGINX_VARIANTS["standalone-modern"]))
    assert check_nginx(site, tmp_path / "nginx").returncode != 0
    site = make_site(**_settings(tmp_path, pem, NEWER_HAPROXY_VARIANTS["http-stats"]))
    assert check_haproxy(site, tmp_path / "haproxy").returncode != 0


@pytest.mark.servers
def test_nginx_rejects_a_broken_vhost(tmp_path, pem):
    # The check above means something only if nginx -t does fail on a bad vhost.
    site = make_site(**_settings(tmp_path, pem, {}))
    check_nginx(site, tmp_path)
    vhost = next((tmp_path / "build").glob("nginx/*/site.conf"))
    vhost.write_text(vhost.read_text() + "server { listen\n")
    conf = tmp_path / "nginx" / "nginx.conf"
    assert servers.nginx_test(conf, tmp_path / "nginx").returncode != 0


def _round_trip(tmp: Path, relative: str, text: str) -> None:
    path = tmp / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    first = crossplane.parse(str(path), single=True, check_ctx=False, comments=False)
    assert first["status"] == "ok", first["errors"]
    rebuilt = crossplane.build(first["config"][0]["parsed"])
    again = tmp / (relative + ".rebuilt")
    again.write_text(rebuilt)
    second = crossplane.parse(str(again), single=True, check_ctx=False, comments=False)
    assert second["status"] == "ok", second["errors"]

    def strip(block: list) -> list:
        return [
            (d["directive"], d["args"], strip(d.get("block", [])))
            for d in block
            if d["directive"] != "#"
        ]

    assert strip(second["config"][0]["parsed"]) == strip(first["config"][0]["parsed"])


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden_nginx_output_round_trips_through_crossplane(name, tmp_path):
    for relative, text in golden_files(name).items():
        if relative.startswith("nginx/"):
            _round_trip(tmp_path, relative, text)


@pytest.mark.parametrize("name", sorted(NGINX_VARIANTS))
def test_variant_nginx_output_round_trips_through_crossplane(name, tmp_path):
    site = make_site(REDIRECTS, **NGINX_VARIANTS[name] | {"NGINX_TLS_TRUSTED_CERTIFICATE": None})
    for relative, text in render(site).items():
        if relative.startswith("nginx/"):
            _round_trip(tmp_path, relative, text)


LONGEST_LABELS = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 57])  # 249 characters


@pytest.mark.servers
@pytest.mark.parametrize("role", ["backend", "standalone"])
@pytest.mark.parametrize("host", ["x" * 47 + ".example", LONGEST_LABELS + ".org"])
def test_nginx_accepts_server_names_up_to_253_characters(role, host, tmp_path, pem):
    # Two server blocks on one address (the www redirect) make nginx hash the names; its
    # default bucket holds names of at most 46 characters.
    assert len(host) in (55, 253)
    settings = _settings(tmp_path, pem, {"NGINX_ROLE": role, "NGINX_WWW_REDIRECT": "to-www"})
    settings["BACKENDS"] = settings["BACKENDS"][:1]  # one backend: its own nginx
    site = make_site(
        REDIRECTS,
        **settings,
        SITEURL=f"https://{host}",
        NGINX_SERVER_ALIASES=[host.replace("x", "y", 1)],
    )
    result = check_nginx(site, tmp_path)
    assert result.returncode == 0, result.stderr
    text = next((tmp_path / "build").glob("nginx/*/site.conf")).read_text()
    assert "server_names_hash_bucket_size" in text


@pytest.mark.servers
def test_short_names_leave_the_bucket_size_to_nginx(tmp_path, pem):
    site = make_site(REDIRECTS, **_settings(tmp_path, pem, {"NGINX_WWW_REDIRECT": "to-www"}))
    assert check_nginx(site, tmp_path).returncode == 0
    assert "server_names_hash_bucket_size" not in "".join(nginx_texts(tmp_path))


def nginx_texts(tmp_path: Path) -> list[str]:
    return [path.read_text() for path in (tmp_path / "build").glob("nginx/*/site.conf")]
