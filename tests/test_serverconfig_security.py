"""TLS key exchange, HSTS and the security headers, as Mozilla's guidelines ask, in the rendered
nginx and haproxy config; and an haproxy started from it putting HSTS on its own replies."""

from __future__ import annotations

import re
import subprocess

import pytest

from plugins.serverconfig import haproxy, nginx, security
from tests.support import servers
from tests.support.serverconfig import (
    check_haproxy,
    local_settings,
    make_site,
    render,
    write_files,
)

HSTS = "max-age=63072000; includeSubDomains"
CLASSIC = "X25519:prime256v1:secp384r1"
HYBRID = "X25519MLKEM768:" + CLASSIC


def _vhost(**settings: object) -> str:
    site = make_site(**settings)
    return nginx.vhost(site, site.backends[0])


def _server_blocks(text: str) -> list[str]:
    return re.findall(r"^server \{\n(.*?)^\}", text, re.S | re.M)


def test_the_guideline_named_is_the_current_one():
    assert security.GUIDELINE == "6.0"
    assert "guidelines/6.0.json" in security.__doc__


@pytest.mark.parametrize(
    ("version", "groups"),
    [("1.4", None), ("1.10", None), ("1.11", CLASSIC), ("1.22", CLASSIC), ("1.26", HYBRID)],
)
def test_nginx_restricts_key_exchange_groups(version, groups):
    text = _vhost(NGINX_VERSION=version, NGINX_ROLE="standalone")
    found = re.findall(r"ssl_ecdh_curve (\S+);", text)
    assert found == ([] if groups is None else [groups])


def test_nginx_behind_haproxy_has_no_tls_settings():
    assert "ssl_ecdh_curve" not in _vhost(HAPROXY_TOPOLOGY="tcp")


@pytest.mark.parametrize(
    ("version", "global_groups", "bind_groups"),
    [
        ("1.5", None, None),
        ("1.8", None, CLASSIC),
        ("2.1", None, CLASSIC),
        ("2.2", CLASSIC, None),
        ("2.6", CLASSIC, None),
        ("3.0", HYBRID, None),
    ],
)
@pytest.mark.parametrize("topology", ["http", "tcp"])
def test_haproxy_restricts_key_exchange_groups(version, global_groups, bind_groups, topology):
    settings = {"HAPROXY_VERSION": version, "HAPROXY_TOPOLOGY": topology}
    if version < "1.9":
        settings["NGINX_VERSION"] = "1.4"
    text = haproxy.config(make_site(**settings))
    assert re.findall(r"ssl-default-bind-curves (\S+)", text) == (
        [] if global_groups is None else [global_groups]
    )
    https_bind = re.search(r"^    bind \S+:443 .*$", text, re.M).group(0)
    assert re.findall(r" curves (\S+)", https_bind) == (
        [] if bind_groups is None else [bind_groups]
    )


def test_hsts_follows_the_current_guideline():
    text = _vhost()
    assert f'add_header Strict-Transport-Security "{HSTS}" always;' in text
    assert 'Strict-Transport-Security "max-age=63072000"' not in text


@pytest.mark.parametrize("role", ["backend", "standalone"])
@pytest.mark.parametrize("www", ["to-www", "to-bare"])
def test_the_www_redirect_block_sends_hsts(role, www):
    host = "https://www.blog.example.org" if www == "to-bare" else "https://blog.example.org"
    text = _vhost(SITEURL=host, NGINX_WWW_REDIRECT=www, NGINX_ROLE=role)
    # The www redirect answers with a server-level return (the http→https one in a location).
    redirects = [b for b in _server_blocks(text) if re.search(r"^    return 301 ", b, re.M)]
    assert len(redirects) == 1, text
    assert f'add_header Strict-Transport-Security "{HSTS}" always;' in redirects[0]


def test_no_hsts_for_a_plain_http_site():
    text = _vhost(SITEURL="http://blog.example.org", NGINX_WWW_REDIRECT="to-www")
    assert "Strict-Transport-Security" not in text
    assert "Strict-Transport-Security" not in haproxy.config(
        make_site(SITEURL="http://blog.example.org")
    )


def test_haproxy_sets_hsts_on_every_reply_it_sends_in_the_http_topology():
    text = haproxy.config(make_site())
    https = text[text.index("frontend fe_https") : text.index("backend be_web")]
    assert f'http-after-response set-header Strict-Transport-Security "{HSTS}"' in https
    # Not on the plain port: browsers ignore HSTS over http.
    assert "Strict-Transport-Security" not in text[: text.index("frontend fe_https")]
    # haproxy before 2.2 has no rule for its own replies; tcp mode sends none.
    assert "Strict-Transport-Security" not in haproxy.config(make_site(HAPROXY_VERSION="2.0"))
    assert "Strict-Transport-Security" not in haproxy.config(make_site(HAPROXY_TOPOLOGY="tcp"))


def test_every_header_block_has_a_strict_permissions_policy():
    text = _vhost(NGINX_WWW_REDIRECT="to-www")
    blocks = re.findall(r"location [^{]*\{(.*?)\n    \}", text, re.S)
    with_headers = [b for b in blocks if "add_header" in b]
    assert with_headers
    for block in with_headers:
        policy = re.search(r'add_header Permissions-Policy "([^"]+)" always;', block)
        assert policy, block
        features = dict(item.split("=") for item in policy.group(1).split(", "))
        assert {"camera", "microphone", "geolocation", "payment"} <= set(features)
        assert set(features.values()) == {"()"}


@pytest.mark.servers
def test_haproxys_own_503_carries_hsts(tmp_path):
    # No backend runs: every request ends in the 503 haproxy writes itself.
    pem = servers.self_signed_pem(tmp_path / "tls", ["blog.example.org"])
    site = make_site(**local_settings(tmp_path, pem))
    write_files(tmp_path / "build", render(site))
    https = site.haproxy.https_port
    process = servers.start_haproxy(
        [tmp_path / "build" / "haproxy" / "haproxy.cfg"],
        tmp_path / "haproxy",
        wait_for=[("127.0.0.1", https)],
    )
    try:
        result = subprocess.run(
            ["curl", "-sk", "--max-time", "10", "-o", "/dev/null", "-D", "-",
             "--resolve", f"blog.example.org:{https}:127.0.0.1", f"https://blog.example.org:{https}/"],
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout  # fmt: skip
    finally:
        servers.stop(process)
    assert result.split()[1] == "503", result
    assert f"strict-transport-security: {HSTS.lower()}" in result.lower(), result


@pytest.mark.servers
def test_an_ipv6_backend_behind_sockets_is_health_checked_in_brackets(tmp_path):
    # Found by the cross-setting property: haproxy refused `addr ::1` ("invalid address").
    pem = servers.self_signed_pem(tmp_path / "tls", ["blog.example.org"])
    settings = local_settings(tmp_path, pem, sockets=True, HAPROXY_TOPOLOGY="tcp")
    settings["BACKENDS"] = [{**b, "address": "::1"} for b in settings["BACKENDS"]]
    site = make_site(**settings)
    port = site.backends[0].port
    assert f"check addr [::1] port {port} send-proxy" in haproxy.config(site)
    result = check_haproxy(site, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
