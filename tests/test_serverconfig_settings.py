"""Settings → model: every bad value is rejected with a message naming it."""

from __future__ import annotations

import re

import pytest

from plugins.serverconfig import haproxy, nginx
from plugins.settings import passwords, redirects, rules
from plugins.settings.deploy import deploy_from_settings
from plugins.settings.errors import SettingsError
from plugins.settings.redirects import Redirect
from plugins.settings.site import DEFAULTS, site_from_settings
from tests.support.serverconfig import BASE_SETTINGS, STATS_PASSWORD, STATS_USER, make_site
from tests.support.site import build_site


def error_for(**overrides) -> str:
    with pytest.raises(SettingsError) as caught:
        site_from_settings({**BASE_SETTINGS, **overrides})
    return str(caught.value)


def test_defaults_are_valid():
    site = make_site()
    assert site.host == "blog.example.org"
    assert [b.name for b in site.backends] == ["web1", "web2"]
    assert site.haproxy.stats is None
    assert site.nginx.version == (1, 22, 0) and site.haproxy.version == (2, 6, 0)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("NGINX_VERSION", "1.22;"),
        ("NGINX_VERSION", 1.22),
        ("NGINX_ROLE", "frontend"),
        ("NGINX_HTTPS_PORT", 0),
        ("NGINX_HTTPS_PORT", True),
        ("NGINX_TLS_CERTIFICATE", "/etc/ssl/a b.pem"),
        ("NGINX_TLS_CERTIFICATE", "relative.pem"),
        ("NGINX_TLS_CERTIFICATE_KEY", "/etc/ssl/../shadow"),
        ("NGINX_TLS_TRUSTED_CERTIFICATE", "/etc/ssl/x;y"),
        ("NGINX_BROTLI_STATIC", "yes"),
        ("NGINX_SERVER_ALIASES", "blog.example.net"),
        ("NGINX_SERVER_ALIASES", ["ok.example.net", "bad name"]),
        ("NGINX_WWW_REDIRECT", "always"),
        ("NGINX_STATIC_MAX_AGE", -1),
        ("NGINX_ACME_ROOT", "/var/www/$acme"),
        ("NGINX_TLS_PROFILE", "old"),
        ("HAPROXY_VERSION", "two"),
        ("HAPROXY_TOPOLOGY", "udp"),
        ("HAPROXY_BIND_ADDRESS", "0.0.0.0 ssl"),
        ("HAPROXY_HTTP_PORT", 70000),
        ("HAPROXY_TLS_PEM", "/etc/haproxy/{pem}"),
        ("HAPROXY_NPN", 1),
        ("HAPROXY_LOG_TARGET", "stderr"),
        ("HAPROXY_LOG_TARGET", "/dev/log local0\n    stats socket /tmp/x"),
        ("HAPROXY_STATS_REQUIRED", "True"),
        ("SITEURL", "ftp://blog.example.org"),
        ("SITEURL", "https://blog_example.org"),
        # urlsplit drops the newline; the header line of every config would not.
        ("SITEURL", "https://blog.example.org/\nserver { }"),
        ("SITEURL", "https://blog.example.org\t"),
        ("SITEURL", "https://["),
        ("SITEURL", "https://blog.example.org:99999"),
        ("SITEURL", "https://user@blog.example.org"),
        ("SITEURL", "https://blog.example.org/?q=1"),
        ("SITEURL", "https://blog.example.org/a b"),
        # Python takes anything after an IPv6 scope `%`.
        ("HAPROXY_BIND_ADDRESS", "::1%x;"),
        ("HAPROXY_BIND_ADDRESS", "lb.example.org"),
        # haproxy reads a comma as an address list separator.
        ("HAPROXY_TLS_PEM", "/etc/haproxy/a,b.pem"),
        # A file's path: a trailing '/' names a folder (hypothesis found "/").
        ("HAPROXY_TLS_PEM", "/etc/haproxy/certs/"),
        ("NGINX_TLS_CERTIFICATE", "/etc/ssl/blog/"),
        ("RELEASE_ID", "a b"),
    ],
)
def test_bad_values_name_the_setting(key, value):
    message = error_for(**{key: value})
    assert message.startswith(key) or message.startswith(key.split("[")[0])
    assert "expected" in message


def test_stats_address_is_an_ip():
    credentials = {"HAPROXY_STATS_USER": STATS_USER, "HAPROXY_STATS_PASSWORD": STATS_PASSWORD}
    message = error_for(HAPROXY_STATS_ADDRESS="stats.example.org", **credentials)
    assert message.startswith("HAPROXY_STATS_ADDRESS")


def test_siteurl_forms_that_are_accepted():
    for url in ("http://localhost:8000", "https://blog.example.org/", "https://x.example/blog"):
        assert make_site(SITEURL=url).siteurl == url.rstrip("/")


def test_unknown_plugin_setting_is_named():
    assert "NGINX_VERSOIN" in error_for(NGINX_VERSOIN="1.22")


def test_every_default_is_accepted_by_validation():
    site_from_settings({**BASE_SETTINGS, **DEFAULTS})


def _backend(**changes):
    return [{**BASE_SETTINGS["BACKENDS"][0], **changes}]


@pytest.mark.parametrize(
    ("backends", "fragment"),
    [
        (_backend(name="web 1"), "BACKENDS[0]['name']"),
        (_backend(name="web1;"), "BACKENDS[0]['name']"),
        (_backend(address="10.0.0.11:80"), "BACKENDS[0]['address']"),
        (_backend(address="web1.example.org"), "BACKENDS[0]['address']"),
        (_backend(address="fe80::1%eth0"), "BACKENDS[0]['address']"),
        (_backend(port="80"), "BACKENDS[0]['port']"),
        (_backend(h2_port=80), "BACKENDS[0]['h2_port']"),
        (_backend(root="srv/blog"), "BACKENDS[0]['root']"),
        (_backend(socket="run/web1.sock"), "BACKENDS[0]['socket']"),
        (_backend(socket="/run/web1.sock;"), "BACKENDS[0]['socket']"),
        (_backend(socket="/run/"), "BACKENDS[0]['socket']"),
        (_backend(h2_socket="/run/web1-h2.sock"), "BACKENDS[0]['h2_socket']"),
        (_backend(socket="/run/" + "s" * 88 + ".sock"), "at most 97 bytes"),
        (_backend(ssh_user="root;id"), "BACKENDS[0]['ssh_user']"),
        (_backend(nginx_reload_command="a\nb"), "BACKENDS[0]['nginx_reload_command']"),
        (_backend(colour="blue"), "unknown: colour"),
        ([{"name": "web1"}], "required key"),
        ([], "BACKENDS"),
        (BASE_SETTINGS["BACKENDS"][:1] * 2, "not already used by BACKENDS[0]"),
    ],
)
def test_backends_are_validated(backends, fragment):
    assert fragment in error_for(BACKENDS=backends)


def test_folders_may_end_in_a_slash_which_is_dropped():
    site = site_from_settings(
        {**BASE_SETTINGS, "BACKENDS": _backend(root="/srv/blog/"), "NGINX_ACME_ROOT": "/var/acme/"}
    )
    assert str(site.backends[0].root) == "/srv/blog"
    assert site.nginx.acme_root == "/var/acme"
    assert rules.folder_path("X", "/") == "/"


def test_tcp_topology_needs_h2_ports():
    backends = [{k: v for k, v in _backend()[0].items() if k != "h2_port"}]
    assert site_from_settings({**BASE_SETTINGS, "BACKENDS": backends}).backends[0].h2_port is None
    assert "h2_port" in error_for(BACKENDS=backends, HAPROXY_TOPOLOGY="tcp")


def test_balancer_takes_the_deploy_keys_and_needs_an_ip():
    balancer = {
        "address": "10.0.0.10",
        "config_dir": "/etc/haproxy/test",
        "runtime_socket": "/run/test/admin.sock",
        "haproxy_test_command": "haproxy -c -f {config_dir}",
        "haproxy_reload_command": "kill -USR2 1",
    }
    assert str(make_site(BALANCER=balancer).balancer.runtime_socket) == "/run/test/admin.sock"
    assert "BALANCER['address']" in error_for(BALANCER={"address": "lb.example.org"})
    assert "unknown: weight" in error_for(BALANCER={"address": "10.0.0.10", "weight": 1})
    assert "BALANCER['runtime_socket']" in error_for(
        BALANCER={"address": "10.0.0.10", "runtime_socket": "/run/a sock"}
    )


def test_http3_needs_standalone_and_a_new_nginx():
    assert "NGINX_HTTP3" in error_for(NGINX_HTTP3=True, NGINX_VERSION="1.27")
    assert "NGINX_HTTP3" in error_for(NGINX_HTTP3=True, NGINX_ROLE="standalone")
    assert make_site(NGINX_HTTP3=True, NGINX_ROLE="standalone", NGINX_VERSION="1.25").nginx.http3


def test_modern_tls_needs_tls13():
    assert "NGINX_TLS_PROFILE" in error_for(
        NGINX_TLS_PROFILE="modern", NGINX_ROLE="standalone", NGINX_VERSION="1.12"
    )


def test_www_redirect_must_fit_the_host():
    assert "NGINX_WWW_REDIRECT" in error_for(NGINX_WWW_REDIRECT="to-bare")
    assert "NGINX_WWW_REDIRECT" in error_for(
        NGINX_WWW_REDIRECT="to-www", SITEURL="https://www.example.org"
    )


STATS = {"HAPROXY_STATS_REQUIRED": True}


@pytest.mark.parametrize(
    ("user", "password", "fragment"),
    [
        (None, None, "environment variables"),
        ("admin", "admin", "not a default"),
        ("statsreader", "short-pass", "at least 12 characters"),
        ("statsreader", "statsreader", "not a default or the user"),
        ("stats reader", STATS_PASSWORD, "HAPROXY_STATS_USER"),
        (STATS_USER, "line\nbreak-password", "HAPROXY_STATS_PASSWORD"),
    ],
)
def test_publish_builds_need_good_stats_credentials(user, password, fragment):
    message = error_for(HAPROXY_STATS_USER=user, HAPROXY_STATS_PASSWORD=password, **STATS)
    assert fragment in message
    if password and len(password) > 4:
        assert password not in message


def test_dev_builds_leave_stats_out(caplog):
    with caplog.at_level("INFO"):
        site = make_site()
    assert site.haproxy.stats is None
    assert "stats page is left out" in caplog.text
    assert "listen stats" not in haproxy.config(site)


def test_stats_password_is_stored_hashed_and_deterministically():
    site = make_site(HAPROXY_STATS_USER=STATS_USER, HAPROXY_STATS_PASSWORD=STATS_PASSWORD)
    config = haproxy.config(site)
    assert STATS_PASSWORD not in config
    stats = site.haproxy.stats
    assert re.fullmatch(r"\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}", stats.password_hash)
    assert f"user {STATS_USER} password {stats.password_hash}" in config
    salt = passwords.deterministic_salt(STATS_USER, STATS_PASSWORD)
    assert stats.password_hash == passwords.sha512_crypt(STATS_PASSWORD, salt)
    assert salt != passwords.deterministic_salt("other", STATS_PASSWORD)
    assert config == haproxy.config(
        make_site(HAPROXY_STATS_USER=STATS_USER, HAPROXY_STATS_PASSWORD=STATS_PASSWORD)
    )


@pytest.mark.parametrize(
    ("version", "listen", "extra"),
    [
        ("1.4", "ssl spdy;", None),
        ("1.9.4", "ssl spdy;", None),
        ("1.9.5", "ssl http2;", None),
        ("1.25.0", "ssl http2;", None),
        ("1.25.1", "ssl;", "http2 on;"),
    ],
)
def test_listen_syntax_by_version(version, listen, extra):
    text = nginx.vhost(
        make_site(NGINX_VERSION=version, NGINX_ROLE="standalone"), make_site().backends[0]
    )
    assert f"listen 10.0.0.11:443 {listen}" in text
    assert extra is None or f"    {extra}" in text
    assert ("http2 on;" in text) == (extra is not None)


def test_backend_role_tcp_listeners_by_version():
    backend = make_site().backends[0]
    old = nginx.vhost(make_site(NGINX_VERSION="1.4", HAPROXY_TOPOLOGY="tcp"), backend)
    assert "listen 10.0.0.11:81 spdy;" in old and "proxy_protocol" not in old
    new = nginx.vhost(make_site(HAPROXY_TOPOLOGY="tcp"), backend)
    assert "listen 10.0.0.11:81 http2 proxy_protocol;" in new
    assert "real_ip_header proxy_protocol;" in new
    http = nginx.vhost(make_site(), backend)
    assert "listen 10.0.0.11:81" not in http and "real_ip_header X-Forwarded-For;" in http


def test_pagespeed_include_only_when_enabled():
    assert not any("pagespeed" in p for p in nginx.render(make_site()))
    files = nginx.render(make_site(NGINX_PAGESPEED=True, NGINX_PAGESPEED_FILTERS=["rewrite_css"]))
    assert "pagespeed EnableFilters rewrite_css;" in files["nginx/web1/pagespeed.conf"]
    assert "include /srv/blog/nginx/pagespeed.conf;" in files["nginx/web1/site.conf"]
    with pytest.raises(SettingsError, match="NGINX_PAGESPEED_FILTERS"):
        make_site(NGINX_PAGESPEED=True, NGINX_PAGESPEED_FILTERS=["a;b"])


def test_brotli_can_be_turned_off():
    assert "brotli_static" not in nginx.vhost(
        make_site(NGINX_BROTLI_STATIC=False), make_site().backends[0]
    )


def test_every_add_header_location_repeats_the_security_headers():
    text = nginx.vhost(make_site(), make_site().backends[0])
    for block in re.findall(r"location [^{]*\{(.*?)\n    \}", text, re.S):
        if "add_header" in block:
            for name in ("Strict-Transport-Security", "Content-Security-Policy", "nosniff"):
                assert name in block, block


@pytest.mark.parametrize(
    "value",
    ["/a b/", "/a;b", "relative/", "/a/../b", "//a", "/a?b=1", "/a#b", "/$uri", '/a"', "/é", ""],
)
def test_redirect_paths_are_validated(value):
    with pytest.raises(SettingsError, match="NGINX_REDIRECTS"):
        redirects.from_setting({value: "/new/"})
    with pytest.raises(SettingsError, match="NGINX_REDIRECTS"):
        redirects.from_setting({"/old/": value})
    with pytest.raises(SettingsError, match=r"content/post\.rst: redirect_from"):
        redirects.from_metadata("content/post.rst", "2013/07/19/post/", f"/ok/, {value}x")


def test_redirect_from_metadata():
    found = redirects.from_metadata("content/a.rst", "2013/07/19/a/", " /old/a/ ,/a.html,")
    assert [(r.source, r.target) for r in found] == [
        ("/old/a/", "/2013/07/19/a/"),
        ("/a.html", "/2013/07/19/a/"),
    ]


def test_redirect_conflicts_name_both_sources(tmp_path):
    (tmp_path / "about").mkdir()
    (tmp_path / "about" / "index.html").write_text("")
    one = Redirect("/old/", "/new/", "content/one.rst")
    two = Redirect("/old/", "/other/", "NGINX_REDIRECTS")
    with pytest.raises(SettingsError) as caught:
        redirects.merge([one, two], tmp_path)
    assert "NGINX_REDIRECTS" in str(caught.value) and "content/one.rst" in str(caught.value)
    with pytest.raises(SettingsError, match="other than the source"):
        redirects.merge([Redirect("/a/", "/a/", "x")], tmp_path)
    with pytest.raises(SettingsError, match="is a page"):
        redirects.merge([Redirect("/about/", "/a/", "x")], tmp_path)
    merged = redirects.merge([Redirect("/b/", "/x/", "x"), Redirect("/a/", "/x/", "y")], tmp_path)
    assert [r.source for r in merged] == ["/a/", "/b/"]


def test_a_build_refuses_a_redirect_from_one_of_its_pages(tmp_path):
    """End to end, from an empty output folder: the pages exist when the redirects are
    checked (plugins.fastbuild renders them before plugins.serverconfig reads them)."""
    built = build_site(
        tmp_path, extra={"NGINX_REDIRECTS": {"/archives/": "/tags/"}}, check=False, plain_log=True
    )
    assert built.result.returncode != 0
    assert "/archives/ is a page" in built.result.stderr, built.result.stderr


def test_deploy_build_path_outside_output(tmp_path):
    output = tmp_path / "output"
    ok = {"OUTPUT_PATH": str(output), "DEPLOY_BUILD_PATH": str(tmp_path / "deploy")}
    assert deploy_from_settings(ok).build_path == tmp_path / "deploy"
    for inside in (output, output / "deploy"):
        with pytest.raises(SettingsError, match="DEPLOY_BUILD_PATH"):
            deploy_from_settings({**ok, "DEPLOY_BUILD_PATH": str(inside)})


@pytest.mark.parametrize(
    "value", ["a b", "a;b", "a{", "a}", 'a"', "a'", "a\nb", "a\n", "$a", "a#", "a\\b", "a\0"]
)
def test_rules_refuse_directive_characters(value):
    for rule in (rules.hostname, rules.identifier, rules.word, rules.user_name, rules.address):
        with pytest.raises(SettingsError, match="WHERE"):
            rule("WHERE", value)
        with pytest.raises(SettingsError, match="WHERE"):
            rule("WHERE", "")
    for rule in (rules.file_path, rules.url_path):
        with pytest.raises(SettingsError, match="WHERE"):
            rule("WHERE", "/" + value)


def test_unix_sockets_fit_the_topology_and_role():
    sockets = {"socket": "/run/blog/web1.sock", "h2_socket": "/run/blog/web1-h2.sock"}
    site = site_from_settings(
        {**BASE_SETTINGS, "BACKENDS": _backend(**sockets), "HAPROXY_TOPOLOGY": "tcp"}
    )
    assert (site.backends[0].socket, site.backends[0].h2_socket) == tuple(sockets.values())
    # tcp routes h2 clients to their own listener: it needs its own socket.
    assert "BACKENDS[0]['h2_socket']" in error_for(
        BACKENDS=_backend(socket="/run/blog/web1.sock"), HAPROXY_TOPOLOGY="tcp"
    )
    assert "a path other than 'socket'" in error_for(
        BACKENDS=_backend(socket="/run/a.sock", h2_socket="/run/a.sock"), HAPROXY_TOPOLOGY="tcp"
    )
    # Only haproxy uses the socket: a standalone nginx has nothing in front of it.
    assert "NGINX_ROLE 'standalone'" in error_for(
        BACKENDS=_backend(socket="/run/blog/web1.sock"), NGINX_ROLE="standalone"
    )


def test_socket_paths_fit_haproxy():
    longest = "/run/" + "s" * 87 + ".sock"
    assert len(longest) == rules.SOCKET_PATH_MAX
    site = site_from_settings({**BASE_SETTINGS, "BACKENDS": _backend(socket=longest)})
    assert site.backends[0].socket == longest
    balancer = {**BASE_SETTINGS["BALANCER"], "runtime_socket": longest + "x"}
    assert "BALANCER['runtime_socket']" in error_for(BALANCER=balancer)


# --- accepted, then broken: values the real binaries refused, now refused here -------------


def test_an_ipv4_mapped_ipv6_address_is_refused_naming_its_ipv4_form():
    message = error_for(BACKENDS=_backend(address="::ffff:10.0.0.11"))
    assert "BACKENDS[0]['address']" in message and "(10.0.0.11)" in message
    assert "HAPROXY_STATS_ADDRESS" in error_for(
        HAPROXY_STATS_USER=STATS_USER,
        HAPROXY_STATS_PASSWORD=STATS_PASSWORD,
        HAPROXY_STATS_ADDRESS="::ffff:127.0.0.1",
    )
    assert make_site(BACKENDS=_backend(address="2001:db8::1")).backends[0].address == "2001:db8::1"


def test_standalone_tls_port_cannot_be_a_backend_http_port():
    message = error_for(NGINX_ROLE="standalone", NGINX_HTTPS_PORT=80)
    assert message.startswith("NGINX_HTTPS_PORT = 80 is not allowed")
    assert "BACKENDS[0]['port']" in message
    # Behind haproxy nginx has no TLS listener: the same number is harmless there.
    assert make_site(NGINX_HTTPS_PORT=80).nginx.https_port == 80


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"HAPROXY_HTTPS_PORT": 80}, "HAPROXY_HTTPS_PORT = 80"),
        ({"HAPROXY_STATS_PORT": 443}, "HAPROXY_STATS_PORT = 443"),
        ({"HAPROXY_STATS_PORT": 80, "HAPROXY_BIND_ADDRESS": "127.0.0.1"}, "HAPROXY_STATS_PORT"),
    ],
)
def test_haproxy_listeners_never_share_an_address_and_port(overrides, named):
    stats = {"HAPROXY_STATS_USER": STATS_USER, "HAPROXY_STATS_PASSWORD": STATS_PASSWORD}
    message = error_for(**stats, **overrides)
    assert message.startswith(named) and "uses it" in message


def test_haproxy_listeners_on_different_addresses_may_share_a_port():
    site = make_site(
        HAPROXY_STATS_USER=STATS_USER,
        HAPROXY_STATS_PASSWORD=STATS_PASSWORD,
        HAPROXY_BIND_ADDRESS="10.0.0.10",
        HAPROXY_STATS_PORT=80,
    )
    assert site.haproxy.stats is not None and site.haproxy.stats.port == 80


def test_stats_passwords_longer_than_openssl_hashes_are_refused():
    long_password = "p" * 257
    message = error_for(HAPROXY_STATS_USER=STATS_USER, HAPROXY_STATS_PASSWORD=long_password)
    assert "at most 256 bytes" in message and long_password not in message
    # Multi-byte characters count in bytes, as openssl reads them.
    assert "at most 256 bytes" in error_for(
        HAPROXY_STATS_USER=STATS_USER, HAPROXY_STATS_PASSWORD="é" * 129
    )


@pytest.mark.parametrize("password", ["x" * 12, "ü-" * 64, "q" * 256])
def test_the_stored_hash_matches_the_whole_password(password):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # an independent SHA-512 crypt: glibc's, not openssl's

    site = make_site(HAPROXY_STATS_USER=STATS_USER, HAPROXY_STATS_PASSWORD=password)
    assert site.haproxy.stats is not None
    stored = site.haproxy.stats.password_hash
    assert crypt.crypt(password, stored) == stored
    assert crypt.crypt(password[:-1], stored) != stored


def test_a_stats_page_off_loopback_is_served_over_tls_only():
    stats = {"HAPROXY_STATS_USER": STATS_USER, "HAPROXY_STATS_PASSWORD": STATS_PASSWORD}
    local = haproxy.config(make_site(**stats, HAPROXY_STATS_ADDRESS="127.0.0.1"))
    assert "    bind 127.0.0.1:8404\n" in local
    remote = haproxy.config(make_site(**stats, HAPROXY_STATS_ADDRESS="10.0.0.10"))
    assert "    bind 10.0.0.10:8404 ssl crt /etc/haproxy/certs/blog.pem alpn http/1.1\n" in remote


def test_two_backends_never_listen_on_one_address_and_port():
    one, two = BASE_SETTINGS["BACKENDS"]
    message = error_for(BACKENDS=[one, {**two, "address": one["address"]}])
    assert message.startswith("BACKENDS[1]['port'] = 80") and "BACKENDS[0]['port']" in message
    crossed = error_for(
        BACKENDS=[one, {**two, "address": one["address"], "port": 81, "h2_port": 82}]
    )
    assert crossed.startswith("BACKENDS[1]['port'] = 81") and "BACKENDS[0]['h2_port']" in crossed


def test_haproxy_logs_to_syslog_or_its_own_output():
    assert "    log /dev/log local0\n" in haproxy.config(make_site())
    assert "    log /run/log.sock local0\n" in haproxy.config(
        make_site(HAPROXY_LOG_TARGET="/run/log.sock")
    )
    own_output = haproxy.config(make_site(HAPROXY_LOG_TARGET="stdout"))
    assert "    log stdout format raw local0\n" in own_output
    assert "/dev/log" not in own_output


@pytest.mark.parametrize("wildcard", ["0.0.0.0", "::"])
def test_a_wildcard_bind_address_overlaps_every_listener(wildcard):
    stats = {"HAPROXY_STATS_USER": STATS_USER, "HAPROXY_STATS_PASSWORD": STATS_PASSWORD}
    message = error_for(**stats, HAPROXY_BIND_ADDRESS=wildcard, HAPROXY_STATS_PORT=80)
    assert message.startswith("HAPROXY_STATS_PORT = 80") and "uses it" in message
